#include "platform/gfx/window.hpp"

#include <utility>

#include <SDL.h>
#include <SDL_opengl.h>
#include <backends/imgui_impl_opengl3.h>
#include <backends/imgui_impl_sdl.h>
#include <imgui.h>
#include <spdlog/spdlog.h>

#include <stdexcept>

namespace kiosk::platform {

struct Window::Impl {
  SDL_Window* window = nullptr;
  SDL_GLContext gl = nullptr;
  bool imguiSdl = false;
  bool imguiGl = false;

  ~Impl() {
    if (imguiGl) ImGui_ImplOpenGL3_Shutdown();
    if (imguiSdl) ImGui_ImplSDL2_Shutdown();
    if (ImGui::GetCurrentContext() != nullptr) ImGui::DestroyContext();
    if (gl != nullptr) SDL_GL_DeleteContext(gl);
    if (window != nullptr) SDL_DestroyWindow(window);
    SDL_Quit();
  }
};

std::unique_ptr<Window> Window::open(const WindowOptions& options) {
  // Touch screens: let SDL turn taps into mouse events (ImGui 1.86's SDL backend reads the
  // mouse), and do not let a lost focus minimise a fullscreen kiosk.
  SDL_SetHint(SDL_HINT_TOUCH_MOUSE_EVENTS, "1");
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
    // Touch arrives as synthesized mouse presses too (SDL's default), so only those count.
    if (event.type == SDL_MOUSEBUTTONDOWN && m_width > 0 && m_height > 0) {
      int windowW = 0;
      int windowH = 0;
      SDL_GetWindowSize(m_impl->window, &windowW, &windowH);
      if (windowW > 0 && windowH > 0) {
        m_presses.emplace_back(static_cast<float>(event.button.x) / static_cast<float>(windowW),
                               static_cast<float>(event.button.y) / static_cast<float>(windowH));
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

std::vector<std::pair<float, float>> Window::takePresses() { return std::exchange(m_presses, {}); }

void Window::beginFrame() {
  ImGui_ImplOpenGL3_NewFrame();
  ImGui_ImplSDL2_NewFrame();
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

void Window::reloadFontTexture() {
  ImGui_ImplOpenGL3_DestroyFontsTexture();
  ImGui_ImplOpenGL3_CreateFontsTexture();
}

void Window::present() { SDL_GL_SwapWindow(m_impl->window); }

std::string Window::rendererName() const {
  const auto* name = reinterpret_cast<const char*>(glGetString(GL_RENDERER));
  return name != nullptr ? name : "unknown";
}

}  // namespace kiosk::platform
