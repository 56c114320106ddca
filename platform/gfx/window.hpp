#pragma once
// The kiosk's one window: SDL2 with an OpenGL 3 context and Dear ImGui's SDL2/OpenGL3
// backends. It waits for events instead of spinning, so an idle kiosk costs almost no CPU.

#include "platform/gfx/image.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace kiosk::platform {

struct WindowOptions {
  std::string title = "Recharge kiosk";
  bool fullscreen = true;  // fullscreen on the desktop's resolution
  int width = 1080;        // used when not fullscreen
  int height = 1920;
  bool vsync = true;
};

class Window {
 public:
  // Opens the window and initialises ImGui; throws std::runtime_error when there is no
  // display or no OpenGL 3 (a startup error).
  static std::unique_ptr<Window> open(const WindowOptions& options);
  ~Window();
  Window(const Window&) = delete;
  Window& operator=(const Window&) = delete;

  // Blocks until an event arrives or `timeout` passes; feeds events to ImGui. Returns true when
  // something happened that may change what is shown.
  bool waitEvents(std::chrono::milliseconds timeout);
  bool quitRequested() const { return m_quit; }
  // Makes a waitEvents() in progress return now; safe from any thread (new data to show).
  static void wake();
  // Opens a URL in the desktop's browser; false with the reason when there is none.
  static bool openUrl(const std::string& url, std::string* error);
  // A short tone to draw a person's attention (a card left in the reader). False with the
  // reason when the kiosk has no sound device; the screen says it in words either way.
  bool beep(std::string* error);
  // Where the pointer (mouse or finger) went down since the last call, as fractions of the
  // window's width and height.
  std::vector<std::pair<float, float>> takePresses();

  void beginFrame();
  void endFrame();       // renders ImGui's draw data into the back buffer
  Image capture() const; // reads the back buffer (call after endFrame, before present)
  void present();
  // Uploads the ImGui font atlas after it was rebuilt (beginFrame() also does it when the
  // atlas holds pixels not yet uploaded) and frees its pixels on the CPU side.
  void reloadFontTexture();

  int width() const { return m_width; }
  int height() const { return m_height; }
  std::string rendererName() const;

 private:
  Window() = default;
  struct Impl;
  std::unique_ptr<Impl> m_impl;
  bool m_quit = false;
  std::vector<std::pair<float, float>> m_presses;
  int m_width = 0;
  int m_height = 0;
};

}  // namespace kiosk::platform
