#pragma once
// What the resident pressed on a screen. Screens return it; the flow consumes it. No ImGui here.

namespace kiosk::app {

struct Intent {
  enum class Kind {
    None,
    SwitchLanguage,
    Back,
    Cancel,
    TopUp,          // account -> amount
    Preset,         // value: index into the presets
    Digit,          // value: 0..9
    Backspace,
    Clear,
    ConfirmAmount,
    Retry,
    Finish,
    // Maintenance
    OpenPinPad,   // the hidden gesture on the attract screen
    SignIn,       // PIN pad: submit
    ReaderTest,
    SyncNow,
    Restart,
    Resolve,      // value: index into the attention list
    ExitMaintenance,
  };
  Kind kind = Kind::None;
  int value = 0;
  bool operator==(const Intent&) const = default;
};

}  // namespace kiosk::app
