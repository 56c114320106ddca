// Touch input on the real window (SDL2 + OpenGL + ImGui under X): finger events, as a touch
// screen's driver delivers them to SDL, press ImGui buttons and count as presses for the
// hidden maintenance gesture. Xvfb has no touch device, so the events are queued through SDL
// itself, the same queue a touch screen's events arrive on.
#include "platform/gfx/window.hpp"

#include <SDL.h>
#include <gtest/gtest.h>
#include <imgui.h>

#include <chrono>
#include <cstdlib>
#include <memory>

namespace {

using kiosk::platform::Window;
using kiosk::platform::WindowOptions;

constexpr int kWidth = 600;
constexpr int kHeight = 400;
// The button covers the middle third of the window in both directions.
const ImVec2 kButtonPos(200, 133);
const ImVec2 kButtonSize(200, 134);

class TouchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* display = std::getenv("DISPLAY");
    ASSERT_TRUE(display != nullptr && *display != '\0')
        << "the touch tests open a real window: run them under X (scripts/test.sh starts Xvfb)";
    WindowOptions options;
    options.fullscreen = false;
    options.width = kWidth;
    options.height = kHeight;
    options.vsync = false;
    m_window = Window::open(options);
    ASSERT_EQ(m_window->width(), kWidth);
    frame();  // ImGui's first frame
    m_window->takePresses();
  }

  // Delivers the queued events and draws one frame with the button; true when it was pressed.
  bool frame() {
    m_window->waitEvents(std::chrono::milliseconds(0));
    m_window->beginFrame();
    ImGui::SetNextWindowPos(ImVec2(0, 0));
    ImGui::SetNextWindowSize(ImVec2(kWidth, kHeight));
    ImGui::Begin("touch", nullptr,
                 ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove |
                     ImGuiWindowFlags_NoBackground);
    ImGui::SetCursorScreenPos(kButtonPos);
    const bool pressed = ImGui::InvisibleButton("##target", kButtonSize);
    ImGui::End();
    m_window->endFrame();
    return pressed;
  }

  // Draws frames until the button fires or `frames` have passed; how many presses it saw.
  int pressesOver(int frames) {
    int presses = 0;
    for (int i = 0; i < frames; ++i) presses += frame() ? 1 : 0;
    return presses;
  }

  static void finger(Uint32 type, SDL_FingerID id, float x, float y) {
    SDL_Event event{};
    event.type = type;
    event.tfinger.touchId = 7;  // a touch screen, not the mouse
    event.tfinger.fingerId = id;
    event.tfinger.x = x;
    event.tfinger.y = y;
    event.tfinger.pressure = 1.F;
    ASSERT_EQ(SDL_PushEvent(&event), 1) << SDL_GetError();
  }

  std::unique_ptr<Window> m_window;
};

TEST_F(TouchTest, AQuickTapOnAButtonPressesItOnce) {
  // Down and up before the next frame, as a fast tap arrives on an idle kiosk.
  finger(SDL_FINGERDOWN, 1, 0.5F, 0.5F);
  finger(SDL_FINGERUP, 1, 0.5F, 0.5F);
  EXPECT_EQ(pressesOver(5), 1);
  const auto presses = m_window->takePresses();
  ASSERT_EQ(presses.size(), 1U);
  EXPECT_FLOAT_EQ(presses[0].first, 0.5F);
  EXPECT_FLOAT_EQ(presses[0].second, 0.5F);
}

TEST_F(TouchTest, AFingerHeldOverSeveralFramesPressesWhenItLifts) {
  finger(SDL_FINGERDOWN, 3, 0.45F, 0.55F);
  EXPECT_EQ(pressesOver(4), 0) << "pressed before the finger lifted";
  finger(SDL_FINGERMOTION, 3, 0.5F, 0.5F);
  EXPECT_EQ(pressesOver(2), 0);
  finger(SDL_FINGERUP, 3, 0.5F, 0.5F);
  EXPECT_EQ(pressesOver(3), 1);
}

TEST_F(TouchTest, ATapBesideTheButtonOrASlideOffItPressesNothing) {
  finger(SDL_FINGERDOWN, 1, 0.1F, 0.1F);
  finger(SDL_FINGERUP, 1, 0.1F, 0.1F);
  EXPECT_EQ(pressesOver(4), 0);
  // Down on the button, slid away before lifting: a resident changing their mind.
  finger(SDL_FINGERDOWN, 2, 0.5F, 0.5F);
  EXPECT_EQ(pressesOver(2), 0);
  finger(SDL_FINGERMOTION, 2, 0.95F, 0.95F);
  finger(SDL_FINGERUP, 2, 0.95F, 0.95F);
  EXPECT_EQ(pressesOver(4), 0);
  EXPECT_EQ(m_window->takePresses().size(), 2U) << "both touches count for the hidden gesture";
}

TEST_F(TouchTest, ASecondFingerDoesNotTakeOverTheFirst) {
  finger(SDL_FINGERDOWN, 1, 0.5F, 0.5F);
  EXPECT_EQ(pressesOver(2), 0);
  // A palm or a second finger lands elsewhere and lifts; the first finger still holds.
  finger(SDL_FINGERDOWN, 2, 0.05F, 0.9F);
  finger(SDL_FINGERUP, 2, 0.05F, 0.9F);
  EXPECT_EQ(pressesOver(3), 0);
  finger(SDL_FINGERUP, 1, 0.5F, 0.5F);
  EXPECT_EQ(pressesOver(3), 1);
}

}  // namespace
