#pragma once
// Maintenance mode: the staff PIN pad (opened by the hidden gesture) and the dashboard (also
// opened by a staff card): health of reader, pcscd, network, cloud, disk and journal, the
// outbox backlog, transactions needing attention, reader test, sync now, restart. Every staff
// action is journaled and so uploaded. No ImGui here: the window draws pinView() and view().

#include <optional>
#include <string>
#include <vector>

#include "kiosk/intent.hpp"
#include "kiosk/runtime.hpp"
#include "kiosk/staff_access.hpp"
#include "kiosk/views.hpp"

namespace kiosk::app {

class Maintenance {
 public:
  enum class Mode { Off, Pin, Dashboard };

  // `simulated`: the reader is simulation mode's in-process one (no pcscd to check).
  Maintenance(Runtime& runtime, bool simulated, PinGateConfig gate = {});

  Mode mode() const { return m_mode; }
  // "pin", "maintenance", or "" when off.
  std::string screenName() const;

  void openPinPad();
  // The authenticated card in the reader ("" when none): a staff card opens the dashboard,
  // once per insertion. True when it did.
  bool noticeCard(const std::string& cardNumber);

  PinView pinView(Millis now) const;
  // The dashboard, refreshed at most once a second (and right after an action).
  const MaintenanceView& view(Millis now);

  // A press on the PIN pad or the dashboard. True when the application should restart.
  bool handle(const Intent& intent, Millis now);

  // The staff in the kiosk config (empty until a config arrived, from the cloud or the cache).
  std::vector<StaffCredential> staff() const;

 private:
  std::string staffDetail() const;
  void enter(const StaffCredential& staff, const std::string& via);
  void signIn(Millis now);
  void readerTest();
  void refresh(Millis now);

  Runtime& m_runtime;
  bool m_simulated;
  Mode m_mode = Mode::Off;
  PinGate m_gate;
  std::string m_pin;
  bool m_rejected = false;
  std::string m_staffId;
  std::string m_staffName;
  std::string m_via;
  std::string m_readerTest;
  std::string m_staffCardSeen;
  MaintenanceView m_view;
  std::optional<Millis> m_viewAt;
};

}  // namespace kiosk::app
