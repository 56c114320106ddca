#include "card/pcsc/reader_monitor.hpp"

#include <winscard.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "card/pcsc/pcsc_error.hpp"
#include "platform/result.hpp"
#include "spdlog/spdlog.h"

namespace kiosk::card {

namespace {

constexpr const char* kPnpReader = "\\\\?PnP?\\Notification";
// How often stop() repeats SCardCancel: a cancel that lands between two waits is not
// remembered by pcsc-lite, so one call alone could leave the worker blocked.
constexpr std::chrono::milliseconds kCancelRetry{20};

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

Result<std::vector<std::string>, CardError> listReaders(SCARDCONTEXT context) {
  for (int attempt = 0;; ++attempt) {
    DWORD length = 0;
    LONG rv = SCardListReaders(context, nullptr, nullptr, &length);
    std::string buffer(rv == SCARD_S_SUCCESS ? length : 0, '\0');
    if (rv == SCARD_S_SUCCESS) rv = SCardListReaders(context, nullptr, buffer.data(), &length);
    if (rv != SCARD_S_SUCCESS) {
      const CardError error = fromPcsc(rv, "SCardListReaders");
      if (error == CardError::NoReader) return std::vector<std::string>{};
      // Protocol: the buffer was too small, a reader arrived between the two calls.
      if (error == CardError::Protocol && attempt < 3) continue;
      return fail(error);
    }
    // A multi-string: names separated by NUL, ended by an empty name.
    std::vector<std::string> names;
    for (std::size_t at = 0; at < length && buffer[at] != '\0';) {
      const std::size_t end = buffer.find('\0', at);
      names.emplace_back(buffer, at, end - at);
      at = end + 1;
    }
    return names;
  }
}

}  // namespace

std::string describe(const ReaderEvent& event) {
  return std::visit(
      Overloaded{
          [](const ReaderAdded& e) { return "reader added: " + e.reader; },
          [](const ReaderRemoved& e) { return "reader removed: " + e.reader; },
          [](const CardInserted& e) {
            return "card inserted in " + e.reader + " (ATR " + toHex(e.atr) + ")";
          },
          [](const CardRemoved& e) { return "card removed from " + e.reader; },
          [](const ServiceLost& e) {
            return "PC/SC service lost: " + std::string(describe(e.reason));
          },
          [](const ServiceRestored&) { return std::string("PC/SC service restored"); },
      },
      event);
}

ReaderMonitor::ReaderMonitor(Callback callback) : ReaderMonitor(std::move(callback), Options{}) {}

ReaderMonitor::ReaderMonitor(Callback callback, Options options)
    : m_callback(std::move(callback)), m_options(options) {}

ReaderMonitor::~ReaderMonitor() { stop(); }

void ReaderMonitor::start() {
  std::lock_guard lock(m_mutex);
  if (m_thread.joinable()) return;
  m_stopping = false;
  m_running = true;
  m_thread = std::thread([this] {
    run();
    std::lock_guard done(m_mutex);
    m_running = false;
    m_wake.notify_all();
  });
}

void ReaderMonitor::stop() {
  std::unique_lock lock(m_mutex);
  if (!m_thread.joinable()) return;
  m_stopping = true;
  m_wake.notify_all();
  while (m_running) {
    if (m_hasContext) (void)SCardCancel(m_context);
    m_wake.wait_for(lock, kCancelRetry, [this] { return !m_running; });
  }
  lock.unlock();
  m_thread.join();
}

std::vector<std::string> ReaderMonitor::readers() const {
  std::lock_guard lock(m_mutex);
  return m_readers;
}

bool ReaderMonitor::hotplugSupported() const {
  std::lock_guard lock(m_mutex);
  return m_hotplug;
}

void ReaderMonitor::post(const ReaderEvent& event) {
  spdlog::info("card: {}", describe(event));
  m_callback(event);
}

bool ReaderMonitor::waitFor(std::chrono::milliseconds delay) {
  std::unique_lock lock(m_mutex);
  return !m_wake.wait_for(lock, delay, [this] { return m_stopping; });
}

void ReaderMonitor::run() {
  auto backoff = m_options.backoffInitial;
  bool lost = false;
  for (;;) {
    SCARDCONTEXT context = 0;
    const LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &context);
    if (rv != SCARD_S_SUCCESS) {
      if (!lost) {
        lost = true;
        post(ServiceLost{fromPcsc(rv, "SCardEstablishContext")});
      }
      if (!waitFor(backoff)) return;
      backoff = std::min(backoff * 2, m_options.backoffMax);
      continue;
    }
    {
      std::lock_guard lock(m_mutex);
      if (m_stopping) {
        (void)SCardReleaseContext(context);
        return;
      }
      m_context = context;
      m_hasContext = true;
    }
    backoff = m_options.backoffInitial;
    if (lost) {
      lost = false;
      post(ServiceRestored{});
    }

    std::vector<Slot> slots;
    const CardError ended = watch(context, slots);
    {
      std::lock_guard lock(m_mutex);
      m_hasContext = false;
    }
    (void)SCardReleaseContext(context);
    {
      std::lock_guard lock(m_mutex);
      if (m_stopping) return;
    }
    // pcscd went away (or failed in a way only a fresh context cures): readers and cards are
    // gone as far as the kiosk can tell; they come back as events once the service does.
    lost = true;
    post(ServiceLost{ended});
    dropAll(slots);
    if (!waitFor(backoff)) return;
  }
}

CardError ReaderMonitor::watch(long context, std::vector<Slot>& slots) {
  SCARD_READERSTATE pnp{};
  pnp.szReader = kPnpReader;
  pnp.dwCurrentState = SCARD_STATE_UNAWARE;
  LONG rv = SCardGetStatusChange(context, 0, &pnp, 1);
  if (rv != SCARD_S_SUCCESS) {
    if (const CardError error = fromPcsc(rv, "SCardGetStatusChange"); error != CardError::Timeout) {
      return error;
    }
  }
  const bool hotplug = m_options.useHotplug && (pnp.dwEventState & SCARD_STATE_UNKNOWN) == 0;
  DWORD pnpState = pnp.dwEventState & ~static_cast<DWORD>(SCARD_STATE_CHANGED);
  {
    std::lock_guard lock(m_mutex);
    m_hotplug = hotplug;
  }
  if (!hotplug) spdlog::info("card: pcscd does not report reader hotplug; polling readers");

  for (;;) {
    if (const auto error = syncReaders(context, slots)) return *error;
    std::vector<SCARD_READERSTATE> states(slots.size() + (hotplug ? 1 : 0));
    for (std::size_t i = 0; i < slots.size(); ++i) {
      states[i].szReader = slots[i].name.c_str();
      states[i].dwCurrentState = slots[i].known ? slots[i].state : SCARD_STATE_UNAWARE;
    }
    if (hotplug) {
      states.back().szReader = kPnpReader;
      states.back().dwCurrentState = pnpState;
    }
    if (states.empty()) {
      if (!waitFor(m_options.pollInterval)) return CardError::Cancelled;
      continue;
    }
    const DWORD timeout =
        hotplug ? INFINITE : static_cast<DWORD>(m_options.pollInterval.count());
    rv = SCardGetStatusChange(context, timeout, states.data(), static_cast<DWORD>(states.size()));
    if (rv != SCARD_S_SUCCESS) {
      const CardError error = fromPcsc(rv, "SCardGetStatusChange");
      // Timeout (polling) or a reader gone between listing and waiting: list again.
      if (error == CardError::Timeout || error == CardError::NoReader) continue;
      if (error != CardError::Cancelled) return error;
      std::lock_guard lock(m_mutex);
      if (m_stopping) return CardError::Cancelled;
      continue;
    }

    for (std::size_t i = 0; i < slots.size(); ++i) {
      const SCARD_READERSTATE& state = states[i];
      if ((state.dwEventState & SCARD_STATE_CHANGED) == 0) continue;
      Slot& slot = slots[i];
      const DWORD now = state.dwEventState & ~static_cast<DWORD>(SCARD_STATE_CHANGED);
      if ((now & (SCARD_STATE_UNKNOWN | SCARD_STATE_IGNORE)) != 0) {
        slot.known = false;  // the reader is going away; the next listing reports it
        continue;
      }
      const bool present = (now & SCARD_STATE_PRESENT) != 0;
      const Bytes atr(state.rgbAtr, state.rgbAtr + std::min<DWORD>(state.cbAtr, MAX_ATR_SIZE));
      if (slot.known) {
        // pcscd counts insertions and removals in the upper 16 bits: present before and after
        // with a different count means the card was pulled and put back (maybe another card)
        // while this thread was not looking.
        const bool cycled = (now >> 16) != (slot.state >> 16);
        if (slot.present && present && cycled) {
          post(CardRemoved{slot.name});
          post(CardInserted{slot.name, atr});
        } else if (slot.present && !present) {
          post(CardRemoved{slot.name});
        } else if (!slot.present && present) {
          post(CardInserted{slot.name, atr});
        }
      } else if (present) {
        post(CardInserted{slot.name, atr});
      }
      slot.state = now;
      slot.known = true;
      slot.present = present;
    }
    if (hotplug) pnpState = states.back().dwEventState & ~static_cast<DWORD>(SCARD_STATE_CHANGED);
  }
}

std::optional<CardError> ReaderMonitor::syncReaders(long context, std::vector<Slot>& slots) {
  auto names = listReaders(context);
  if (!names) return names.error();
  {
    std::lock_guard lock(m_mutex);  // readers() agrees with the events as they are posted
    m_readers = *names;
  }
  for (auto it = slots.begin(); it != slots.end();) {
    if (std::find(names->begin(), names->end(), it->name) != names->end()) {
      ++it;
      continue;
    }
    if (it->present) post(CardRemoved{it->name});
    post(ReaderRemoved{it->name});
    it = slots.erase(it);
  }
  for (const std::string& name : *names) {
    const bool known = std::any_of(slots.begin(), slots.end(),
                                   [&](const Slot& slot) { return slot.name == name; });
    if (known) continue;
    slots.push_back(Slot{name});
    post(ReaderAdded{name});
  }
  return std::nullopt;
}

void ReaderMonitor::dropAll(std::vector<Slot>& slots) {
  for (const Slot& slot : slots) {
    if (slot.present) post(CardRemoved{slot.name});
    post(ReaderRemoved{slot.name});
  }
  slots.clear();
  std::lock_guard lock(m_mutex);
  m_readers.clear();
}

}  // namespace kiosk::card
