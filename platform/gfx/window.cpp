#include "platform/gfx/window.hpp"

#include <utility>

#include <SDL.h>
#include <SDL_opengl.h>
#include <backends/imgui_impl_opengl3.h>
#include <backends/imgui_impl_sdl.h>
#include <imgui.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>
#include <stdexcept>

namespace kiosk::platform {

namespace {

// OpenGL 3.3 (or ARB_texture_swizzle) lets a one-channel texture read as white with alpha:
// what ImGui's shader expects from its RGBA32 font texture, at a quarter of the memory.
bool hasTextureSwizzle() {
  GLint major = 0;
  GLint minor = 0;
  glGetIntegerv(GL_MAJOR_VERSION, &major);
  glGetIntegerv(GL_MINOR_VERSION, &minor);
  return major > 3 || (major == 3 && minor >= 3) ||
         SDL_GL_ExtensionSupported("GL_ARB_texture_swizzle") == SDL_TRUE;
}

}  // namespace

struct Window::Impl {
  SDL_Window* window = nullptr;
  SDL_GLContext gl = nullptr;
  bool imguiSdl = false;
  bool imguiGl = false;
  bool swizzle = false;
  GLuint fontTexture = 0;  // ours, not the backend's: see uploadFontTexture()
  SDL_AudioDeviceID audio = 0;  // opened at the first beep
  int audioRate = 22050;

  // The finger that acts as ImGui's pointer: the first one down until it lifts; other fingers
  // are ignored, as a kiosk has no multi-touch gestures.
  struct Touch {
    bool active = false;       // the finger has been down since its last frame
    bool pressed = false;      // went down since the last frame (a tap may lift before it)
    bool released = false;     // lifted since the last frame: ImGui sees the release once
    SDL_FingerID finger = 0;
    float x = 0;               // window pixels (drawable)
    float y = 0;
  } touch;

  // Uploads the atlas ImGui has just built and frees its pixels on the CPU side. The backend's
  // own upload converts the atlas to RGBA32 and keeps both copies in memory: for a CJK atlas
  // that is tens of megabytes, here it is one byte per pixel, once, in the GL driver.
  void uploadFontTexture() {
    ImGuiIO& io = ImGui::GetIO();
    // Without pixels a built atlas is on the GPU already; asking for them would rebuild it.
    if (fontTexture != 0 && io.Fonts->TexPixelsAlpha8 == nullptr && io.Fonts->IsBuilt()) return;
    unsigned char* pixels = nullptr;
    int width = 0;
    int height = 0;
    if (fontTexture == 0) glGenTextures(1, &fontTexture);
    glBindTexture(GL_TEXTURE_2D, fontTexture);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_LINEAR);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_LINEAR);
    glPixelStorei(GL_UNPACK_ROW_LENGTH, 0);
    if (swizzle) {
      io.Fonts->GetTexDataAsAlpha8(&pixels, &width, &height);
      const GLint white[4] = {GL_ONE, GL_ONE, GL_ONE, GL_RED};
      glTexParameteriv(GL_TEXTURE_2D, GL_TEXTURE_SWIZZLE_RGBA, white);
      glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
      glTexImage2D(GL_TEXTURE_2D, 0, GL_R8, width, height, 0, GL_RED, GL_UNSIGNED_BYTE, pixels);
      glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
    } else {
      io.Fonts->GetTexDataAsRGBA32(&pixels, &width, &height);
      glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA, width, height, 0, GL_RGBA, GL_UNSIGNED_BYTE, pixels);
    }
    io.Fonts->SetTexID(reinterpret_cast<ImTextureID>(static_cast<std::intptr_t>(fontTexture)));
    io.Fonts->ClearTexData();
  }

  ~Impl() {
    if (audio != 0) SDL_CloseAudioDevice(audio);
    if (fontTexture != 0) glDeleteTextures(1, &fontTexture);
    if (imguiGl) ImGui_ImplOpenGL3_Shutdown();
    if (imguiSdl) ImGui_ImplSDL2_Shutdown();
    if (ImGui::GetCurrentContext() != nullptr) ImGui::DestroyContext();
    if (gl != nullptr) SDL_GL_DeleteContext(gl);
    if (window != nullptr) SDL_DestroyWindow(window);
    SDL_Quit();
  }
};

std::unique_ptr<Window> Window::open(const WindowOptions& options) {
  // Touch screens: fingers drive ImGui's pointer through waitEvents()/beginFrame() (ImGui
  // 1.86's SDL backend only reads the mouse), so SDL must not also turn them into mouse
  // events, or every tap would arrive twice. Do not let a lost focus minimise a fullscreen kiosk.
  SDL_SetHint(SDL_HINT_TOUCH_MOUSE_EVENTS, "0");
  SDL_SetHint(SDL_HINT_VIDEO_MINIMIZE_ON_FOCUS_LOSS, "0");
  if (SDL_Init(SDL_INIT_VIDEO | SDL_INIT_EVENTS) != 0) {
    throw std::runtime_error(std::string("cannot initialise SDL video (is there a display?): ") +
                             SDL_GetError());
  }
  std::unique_ptr<Window> self(new Window());
  self->m_impl = std::make_unique<Impl>();
  auto& impl = *self->m_impl;

  SDL_GL_SetAttribute(SDL_GL_CONTEXT_FLAGS, 0);
  SDL_GL_SetAttribute(SDL_GL_CONTEXT_PROFILE_MASK, SDL_GL_CONTEXT_PROFILE_CORE);
  SDL_GL_SetAttribute(SDL_GL_CONTEXT_MAJOR_VERSION, 3);
  SDL_GL_SetAttribute(SDL_GL_CONTEXT_MINOR_VERSION, 0);
  SDL_GL_SetAttribute(SDL_GL_DOUBLEBUFFER, 1);
  SDL_GL_SetAttribute(SDL_GL_DEPTH_SIZE, 0);
  SDL_GL_SetAttribute(SDL_GL_STENCIL_SIZE, 0);

  Uint32 flags = SDL_WINDOW_OPENGL | SDL_WINDOW_ALLOW_HIGHDPI;
  int width = options.width;
  int height = options.height;
  if (options.fullscreen) {
    flags |= SDL_WINDOW_FULLSCREEN_DESKTOP | SDL_WINDOW_BORDERLESS;
    SDL_DisplayMode mode{};
    if (SDL_GetDesktopDisplayMode(0, &mode) == 0) {
      width = mode.w;
      height = mode.h;
    }
  }
  impl.window = SDL_CreateWindow(options.title.c_str(), SDL_WINDOWPOS_CENTERED,
                                 SDL_WINDOWPOS_CENTERED, width, height, flags);
  if (impl.window == nullptr) {
    throw std::runtime_error(std::string("cannot create window: ") + SDL_GetError());
  }
  impl.gl = SDL_GL_CreateContext(impl.window);
  if (impl.gl == nullptr) {
    throw std::runtime_error(std::string("cannot create OpenGL 3 context: ") + SDL_GetError());
  }
  SDL_GL_MakeCurrent(impl.window, impl.gl);
  SDL_GL_SetSwapInterval(options.vsync ? 1 : 0);
  SDL_GL_GetDrawableSize(impl.window, &self->m_width, &self->m_height);
  if (options.fullscreen) SDL_ShowCursor(SDL_DISABLE);

  IMGUI_CHECKVERSION();
  ImGui::CreateContext();
  ImGuiIO& io = ImGui::GetIO();
  io.IniFilename = nullptr;  // a kiosk keeps no window layout between runs
  io.LogFilename = nullptr;
  io.ConfigFlags |= ImGuiConfigFlags_NoMouseCursorChange;
  impl.imguiSdl = ImGui_ImplSDL2_InitForOpenGL(impl.window, impl.gl);
  impl.imguiGl = ImGui_ImplOpenGL3_Init("#version 130");
  if (!impl.imguiSdl || !impl.imguiGl) {
    throw std::runtime_error("cannot initialise the ImGui SDL2/OpenGL3 backends");
  }
  // The backend's shaders now, so that its first NewFrame() does not upload the font atlas
  // itself; the atlas goes up through uploadFontTexture() each time it has been built.
  impl.swizzle = hasTextureSwizzle();
  if (!ImGui_ImplOpenGL3_CreateDeviceObjects()) {
    throw std::runtime_error("cannot create the ImGui OpenGL3 shaders");
  }
  ImGui_ImplOpenGL3_DestroyFontsTexture();
  impl.uploadFontTexture();
  spdlog::info("window {}x{} ({}), renderer {}", self->m_width, self->m_height,
               options.fullscreen ? "fullscreen" : "windowed", self->rendererName());
  return self;
}

Window::~Window() = default;

bool Window::waitEvents(std::chrono::milliseconds timeout) {
  SDL_Event event;
  bool changed = false;
  const int ms = static_cast<int>(timeout.count());
  if (SDL_WaitEventTimeout(&event, ms) == 0) return false;
  do {
    ImGui_ImplSDL2_ProcessEvent(&event);
    changed = true;
    if (event.type == SDL_QUIT) m_quit = true;
    if (event.type == SDL_MOUSEBUTTONDOWN && event.button.which != SDL_TOUCH_MOUSEID &&
        m_width > 0 && m_height > 0) {
      int windowW = 0;
      int windowH = 0;
      SDL_GetWindowSize(m_impl->window, &windowW, &windowH);
      if (windowW > 0 && windowH > 0) {
        m_presses.emplace_back(static_cast<float>(event.button.x) / static_cast<float>(windowW),
                               static_cast<float>(event.button.y) / static_cast<float>(windowH));
      }
    }
    // SDL reports fingers in fractions of the window (0..1); SDL_MOUSE_TOUCHID marks fingers
    // SDL made up from the mouse, which the mouse path above already handles.
    if ((event.type == SDL_FINGERDOWN || event.type == SDL_FINGERMOTION ||
         event.type == SDL_FINGERUP) &&
        event.tfinger.touchId != SDL_MOUSE_TOUCHID) {
      auto& touch = m_impl->touch;
      const float x = std::clamp(event.tfinger.x, 0.F, 1.F);
      const float y = std::clamp(event.tfinger.y, 0.F, 1.F);
      if (event.type == SDL_FINGERDOWN && !touch.active) {
        touch = {.active = true, .pressed = true, .finger = event.tfinger.fingerId};
        m_presses.emplace_back(x, y);
      }
      if (touch.active && touch.finger == event.tfinger.fingerId) {
        touch.x = x * static_cast<float>(m_width);
        touch.y = y * static_cast<float>(m_height);
        if (event.type == SDL_FINGERUP) {
          touch.active = false;
          touch.released = true;
        }
      }
    }
    if (event.type == SDL_WINDOWEVENT &&
        event.window.event == SDL_WINDOWEVENT_SIZE_CHANGED) {
      SDL_GL_GetDrawableSize(m_impl->window, &m_width, &m_height);
    }
  } while (SDL_PollEvent(&event) != 0);
  return changed;
}

void Window::wake() {
  SDL_Event event{};
  event.type = SDL_USEREVENT;
  SDL_PushEvent(&event);
}

bool Window::openUrl(const std::string& url, std::string* error) {
  if (SDL_OpenURL(url.c_str()) == 0) return true;
  if (error != nullptr) *error = SDL_GetError();
  return false;
}

bool Window::beep(std::string* error) {
  auto& impl = *m_impl;
  if (impl.audio == 0) {
    if (SDL_InitSubSystem(SDL_INIT_AUDIO) != 0) {
      if (error != nullptr) *error = SDL_GetError();
      return false;
    }
    SDL_AudioSpec wanted{};
    wanted.freq = 22050;
    wanted.format = AUDIO_S16SYS;
    wanted.channels = 1;
    wanted.samples = 1024;
    SDL_AudioSpec got{};
    impl.audio = SDL_OpenAudioDevice(nullptr, 0, &wanted, &got, 0);
    if (impl.audio == 0) {
      if (error != nullptr) *error = SDL_GetError();
      SDL_QuitSubSystem(SDL_INIT_AUDIO);
      return false;
    }
    impl.audioRate = got.freq;
  }
  // Two 150 ms tones of 880 Hz with a gap, faded in and out so they do not click.
  std::vector<std::int16_t> samples;
  const int tone = impl.audioRate * 15 / 100;
  for (int part = 0; part < 3; ++part) {
    for (int i = 0; i < tone; ++i) {
      const double fade = std::min({1.0, i / 200.0, (tone - i) / 200.0});
      const double value = part == 1 ? 0.0 : std::sin(2.0 * M_PI * 880.0 * i / impl.audioRate) * fade;
      samples.push_back(static_cast<std::int16_t>(value * 9000.0));
    }
  }
  SDL_ClearQueuedAudio(impl.audio);
  if (SDL_QueueAudio(impl.audio, samples.data(),
                     static_cast<Uint32>(samples.size() * sizeof(std::int16_t))) != 0) {
    if (error != nullptr) *error = SDL_GetError();
    return false;
  }
  SDL_PauseAudioDevice(impl.audio, 0);
  return true;
}

std::vector<std::pair<float, float>> Window::takePresses() { return std::exchange(m_presses, {}); }

void Window::beginFrame() {
  // Pixels on the CPU side mean the atlas was built since the last upload.
  if (ImGui::GetIO().Fonts->TexPixelsAlpha8 != nullptr) m_impl->uploadFontTexture();
  ImGui_ImplOpenGL3_NewFrame();
  ImGui_ImplSDL2_NewFrame();
  // A finger overrides the mouse the backend has just read: down while it touches (or if it
  // tapped and lifted since the last frame, so that a quick tap is still a press), and where it
  // lifted for one more frame, so that ImGui sees the release over the button it pressed.
  auto& touch = m_impl->touch;
  if (touch.active || touch.pressed || touch.released) {
    ImGuiIO& io = ImGui::GetIO();
    io.MousePos = ImVec2(touch.x, touch.y);
    io.MouseDown[0] = touch.active || touch.pressed;
    if (touch.pressed) {
      touch.pressed = false;  // a tap that lifted already leaves its release for the next frame
    } else {
      touch.released = false;
    }
  }
  ImGui::NewFrame();
}

void Window::endFrame() {
  ImGui::Render();
  glViewport(0, 0, m_width, m_height);
  glClearColor(0.F, 0.F, 0.F, 1.F);
  glClear(GL_COLOR_BUFFER_BIT);
  ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
}

Image Window::capture() const {
  Image image;
  image.width = m_width;
  image.height = m_height;
  const auto rowBytes = static_cast<std::size_t>(m_width) * 4U;
  std::vector<std::uint8_t> raw(rowBytes * static_cast<std::size_t>(m_height));
  glPixelStorei(GL_PACK_ALIGNMENT, 1);
  glReadBuffer(GL_BACK);
  glReadPixels(0, 0, m_width, m_height, GL_RGBA, GL_UNSIGNED_BYTE, raw.data());
  // OpenGL's rows start at the bottom; PNG's at the top.
  image.rgba.resize(raw.size());
  for (int y = 0; y < m_height; ++y) {
    const auto src = raw.begin() + static_cast<std::ptrdiff_t>(
                                       static_cast<std::size_t>(m_height - 1 - y) * rowBytes);
    std::copy(src, src + static_cast<std::ptrdiff_t>(rowBytes),
              image.rgba.begin() +
                  static_cast<std::ptrdiff_t>(static_cast<std::size_t>(y) * rowBytes));
  }
  for (std::size_t i = 3; i < image.rgba.size(); i += 4) image.rgba[i] = 255;
  return image;
}

void Window::reloadFontTexture() { m_impl->uploadFontTexture(); }

void Window::present() { SDL_GL_SwapWindow(m_impl->window); }

std::string Window::rendererName() const {
  const auto* name = reinterpret_cast<const char*>(glGetString(GL_RENDERER));
  return name != nullptr ? name : "unknown";
}

}  // namespace kiosk::platform
