#include "platform/gfx/fonts.hpp"

#include <imgui.h>
#include <imgui_freetype.h>
#include <imgui_internal.h>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <utility>

namespace kiosk::platform {

namespace {

// Calls `fn` with each printable code point of UTF-8 `text` (control characters such as
// newlines are not drawn, so they need no glyph).
template <class Fn>
void forEachCodepoint(const std::string& text, Fn&& fn) {
  const char* cursor = text.c_str();
  const char* end = cursor + text.size();
  while (cursor < end) {
    unsigned int codepoint = 0;
    const int length = ImTextCharFromUtf8(&codepoint, cursor, end);
    if (length <= 0) break;
    cursor += length;
    if (codepoint >= 0x20 && codepoint <= 0xFFFF) fn(codepoint);
  }
}

void addCodepoints(std::set<unsigned>& codepoints, const std::string& text) {
  forEachCodepoint(text, [&](unsigned c) { codepoints.insert(c); });
}

// The font file, mapped read-only. Noto Sans CJK is a 19 MB collection: read into the heap
// once per font size (what AddFontFromFileTTF does, and AddFontFromMemoryTTF too unless the
// atlas owns the data) it cost 78 MB of resident memory, while FreeType reads only the tables
// and outlines of the glyphs the atlas needs.
class MappedFont {
 public:
  explicit MappedFont(const std::string& path) : m_path(path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error("cannot open font " + path);
    struct stat info {};
    if (::fstat(fd, &info) != 0 || info.st_size <= 0) {
      ::close(fd);
      throw std::runtime_error("cannot read font " + path);
    }
    m_size = static_cast<std::size_t>(info.st_size);
    m_data = ::mmap(nullptr, m_size, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (m_data == MAP_FAILED) throw std::runtime_error("cannot map font " + path);
  }
  ~MappedFont() { ::munmap(m_data, m_size); }
  MappedFont(const MappedFont&) = delete;
  MappedFont& operator=(const MappedFont&) = delete;

  const std::string& path() const { return m_path; }
  void* data() const { return m_data; }
  int size() const { return static_cast<int>(m_size); }
  // Drops the pages FreeType read from this process's resident set; they stay in the page
  // cache and come back on the next rebuild.
  void release() const { ::madvise(m_data, m_size, MADV_DONTNEED); }

 private:
  std::string m_path;
  void* m_data = nullptr;
  std::size_t m_size = 0;
};

Fonts buildAtlas(const FontOptions& options, const std::set<unsigned>& codepoints) {
  if (!std::filesystem::exists(options.path)) {
    throw std::runtime_error("font not found: " + options.path +
                             " (install Debian's fonts-noto-cjk)");
  }
  ImGuiIO& io = ImGui::GetIO();
  io.Fonts->Clear();
  io.Fonts->FontBuilderIO = ImGuiFreeType::GetBuilderForFreeType();

  ImFontGlyphRangesBuilder builder;
  builder.AddRanges(io.Fonts->GetGlyphRangesDefault());  // printable ASCII and Latin-1
  for (const unsigned c : codepoints) builder.AddChar(static_cast<ImWchar>(c));
  // ImGui keeps a pointer to the ranges until the atlas is rebuilt, so they live as long as
  // the process; each rebuild replaces them.
  static ImVector<ImWchar> ranges;
  ranges.clear();
  builder.BuildRanges(&ranges);

  ImFontConfig config;
  config.FontNo = options.collectionIndex;
  config.OversampleH = 1;  // FreeType hints; oversampling only grows the atlas
  config.OversampleV = 1;
  config.PixelSnapH = true;

  // Mapped once per process and kept for the rebuilds as the atlas grows, like the ranges.
  static std::unique_ptr<MappedFont> file;
  if (!file || file->path() != options.path) file = std::make_unique<MappedFont>(options.path);
  // "Owned" keeps ImGui from copying the data (it clones data it does not own, once per size).
  config.FontDataOwnedByAtlas = true;

  // The atlas must never free the mapping: it forgets the pointer after Build(), or at once
  // when adding a font failed.
  const auto forgetFontData = [&io] {
    for (ImFontConfig& added : io.Fonts->ConfigData) {
      added.FontData = nullptr;
      added.FontDataOwnedByAtlas = false;
    }
  };

  Fonts fonts;
  const auto add = [&](float scale) {
    ImFont* font = io.Fonts->AddFontFromMemoryTTF(file->data(), file->size(),
                                                  options.basePixels * scale, &config, ranges.Data);
    if (font == nullptr) {
      forgetFontData();
      throw std::runtime_error("cannot load font " + options.path);
    }
    return font;
  };
  fonts.body = add(1.0F);  // the first font is ImGui's default
  fonts.small = add(0.7F);
  fonts.large = add(1.6F);
  fonts.title = add(2.2F);
  const bool built = io.Fonts->Build();
  forgetFontData();
  if (!built) throw std::runtime_error("cannot build the font atlas");
  file->release();

  for (int i = 0; i + 1 < ranges.Size; i += 2) {
    if (ranges[i] == 0) break;
    fonts.glyphCount += ranges[i + 1] - ranges[i] + 1;
  }
  spdlog::info("font atlas {}x{} from {} code points", io.Fonts->TexWidth, io.Fonts->TexHeight,
               fonts.glyphCount);
  return fonts;
}

}  // namespace

Fonts loadFonts(const FontOptions& options, const std::vector<std::string>& texts) {
  std::set<unsigned> codepoints;
  for (const auto& text : texts) addCodepoints(codepoints, text);
  return buildAtlas(options, codepoints);
}

FontAtlas::FontAtlas(FontOptions options, const std::vector<std::string>& texts)
    : m_options(std::move(options)) {
  for (const auto& text : texts) addCodepoints(m_codepoints, text);
  m_fonts = buildAtlas(m_options, m_codepoints);
}

void FontAtlas::require(const std::string& text) {
  const auto before = m_codepoints.size();
  addCodepoints(m_codepoints, text);
  if (m_codepoints.size() != before) m_dirty = true;
}

bool FontAtlas::rebuildIfNeeded() {
  if (!m_dirty) return false;
  m_dirty = false;
  m_fonts = buildAtlas(m_options, m_codepoints);
  return true;
}

std::vector<unsigned> missingGlyphs(const ImFont* font, const std::string& text) {
  std::vector<unsigned> missing;
  forEachCodepoint(text, [&](unsigned c) {
    if (font->FindGlyphNoFallback(static_cast<ImWchar>(c)) == nullptr) missing.push_back(c);
  });
  return missing;
}

}  // namespace kiosk::platform
