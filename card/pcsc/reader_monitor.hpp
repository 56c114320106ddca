#pragma once
// Watches PC/SC readers and cards on a worker thread and reports what changed: readers plugged
// and unplugged, cards inserted (with their ATR) and removed, pcscd lost and back.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "platform/bytes.hpp"
#include "card/error.hpp"

namespace kiosk::card {

struct ReaderAdded {
  std::string reader;
};
struct ReaderRemoved {
  std::string reader;
};
struct CardInserted {
  std::string reader;
  Bytes atr;  // empty for a mute card
};
struct CardRemoved {
  std::string reader;
};
struct ServiceLost {
  CardError reason;  // NoService, usually
};
struct ServiceRestored {};
using ReaderEvent =
    std::variant<ReaderAdded, ReaderRemoved, CardInserted, CardRemoved, ServiceLost, ServiceRestored>;

// "card inserted in Virtual PCD 00 00 (ATR 3B...)" for logs and test messages.
std::string describe(const ReaderEvent& event);

class ReaderMonitor {
 public:
  using Callback = std::function<void(const ReaderEvent&)>;
  struct Options {
    // Re-establishing the context after pcscd went away: first wait, doubled up to the cap.
    std::chrono::milliseconds backoffInitial{100};
    std::chrono::milliseconds backoffMax{5000};
    // How often readers are listed again when pcscd cannot report reader hotplug itself.
    std::chrono::milliseconds pollInterval{1000};
    // Use \\?PnP?\Notification when pcscd offers it; false forces polling.
    bool useHotplug = true;
  };

  // Events are delivered on the monitor's thread, in order; the callback must not block long.
  explicit ReaderMonitor(Callback callback);
  ReaderMonitor(Callback callback, Options options);
  ~ReaderMonitor();  // stops
  ReaderMonitor(const ReaderMonitor&) = delete;
  ReaderMonitor& operator=(const ReaderMonitor&) = delete;

  void start();
  // Wakes the worker (SCardCancel) and joins it. Idempotent.
  void stop();

  // The readers known right now.
  std::vector<std::string> readers() const;
  // Whether pcscd reports reader hotplug (\\?PnP?\Notification); false means polling.
  bool hotplugSupported() const;

 private:
  struct Slot {
    std::string name;
    unsigned long state = 0;  // last dwEventState, event counter in the upper 16 bits
    bool known = false;       // state holds a real answer from pcscd
    bool present = false;
  };

  void run();
  // One session with pcscd; returns the error that ended it (Cancelled at stop).
  CardError watch(long context, std::vector<Slot>& slots);
  // Lists the readers and reports the difference; an error ends the session.
  std::optional<CardError> syncReaders(long context, std::vector<Slot>& slots);
  void dropAll(std::vector<Slot>& slots);
  void post(const ReaderEvent& event);
  bool waitFor(std::chrono::milliseconds delay);  // false when stopping

  Callback m_callback;
  Options m_options;
  mutable std::mutex m_mutex;
  std::condition_variable m_wake;
  bool m_stopping = false;
  bool m_running = false;
  long m_context = 0;
  bool m_hasContext = false;
  bool m_hotplug = false;
  std::vector<std::string> m_readers;
  std::thread m_thread;
};

}  // namespace kiosk::card
