#include "card/pcsc/reader_wait.hpp"

#include <winscard.h>

#include "card/pcsc/pcsc_error.hpp"

namespace kiosk::card {

namespace {

// Releases the context on every path out of the wait.
struct Context {
  SCARDCONTEXT handle = 0;
  ~Context() {
    if (handle != 0) (void)SCardReleaseContext(handle);
  }
};

}  // namespace

Result<void, CardError> waitForCard(const std::string& reader, Presence want,
                                    std::chrono::milliseconds timeout) {
  Context context;
  if (const LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &context.handle);
      rv != SCARD_S_SUCCESS) {
    context.handle = 0;
    return fail(fromPcsc(rv, "SCardEstablishContext"));
  }
  SCARD_READERSTATE state{};
  state.szReader = reader.c_str();
  state.dwCurrentState = SCARD_STATE_UNAWARE;
  const bool present = want == Presence::Present;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return fail(CardError::Timeout);
    const LONG rv =
        SCardGetStatusChange(context.handle, static_cast<DWORD>(left.count()), &state, 1);
    if (rv != SCARD_S_SUCCESS) return fail(fromPcsc(rv, "SCardGetStatusChange"));
    if (((state.dwEventState & SCARD_STATE_PRESENT) != 0) == present) return {};
    // Wait for the next change from what pcscd reported, not from what was asked.
    state.dwCurrentState = state.dwEventState & ~static_cast<DWORD>(SCARD_STATE_CHANGED);
  }
}

}  // namespace kiosk::card
