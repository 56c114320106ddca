#pragma once
// Who may enter maintenance mode: staff PINs checked against the PBKDF2 hashes in the cloud's
// kiosk config (also offline, from the last downloaded copy), with a lockout that grows after
// each failure; staff cards; and the hidden gesture that opens the PIN pad.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kiosk::app {

using Millis = std::int64_t;

// As the cloud's config lists staff: {"id", "name", "pin": {"algorithm":
// "PBKDF2-HMAC-SHA256", "salt": hex, "hash": hex, "iterations": n}, "card_number"}.
struct StaffCredential {
  std::string id;
  std::string name;
  std::string saltHex;
  std::string hashHex;
  int iterations = 0;
  std::optional<std::string> cardNumber;
};

// PBKDF2-HMAC-SHA256 of `pin` compared in constant time with the stored hash.
bool verifyPin(const StaffCredential& staff, std::string_view pin);
// The id of the staff member whose PIN it is, if any: PBKDF2 for each, so a worker's job.
std::optional<std::string> matchPin(std::string_view pin, const std::vector<StaffCredential>& staff);

struct PinGateConfig {
  int freeAttempts = 3;          // failures before the first lockout
  Millis firstLockout = 30'000;  // then doubled after every further failure...
  Millis maxLockout = 3'600'000; // ...up to an hour
};

// Counts failures across all staff ids: a thief does not get three tries per name.
class PinGate {
 public:
  enum class Verdict { Accepted, Rejected, LockedOut };
  struct Result {
    Verdict verdict = Verdict::Rejected;
    std::string staffId;     // when accepted
    Millis lockedUntil = 0;  // when locked out (also set by the failure that locks)
  };

  explicit PinGate(PinGateConfig config = {}) : m_config(config) {}
  // Checks and records in one call (matchPin, then record).
  Result attempt(std::string_view pin, const std::vector<StaffCredential>& staff, Millis now);
  // Records the outcome of a PIN checked elsewhere (matchPin): accepted for `staffId`, else a
  // failure, which may lock the pad. While locked, nothing is recorded: LockedOut.
  Result record(const std::optional<std::string>& staffId, Millis now);
  bool lockedOut(Millis now) const { return now < m_lockedUntil; }
  Millis lockedUntil() const { return m_lockedUntil; }
  int failures() const { return m_failures; }

 private:
  PinGateConfig m_config;
  int m_failures = 0;
  Millis m_lockedUntil = 0;
};

// The staff member a staff card belongs to, if any.
std::optional<StaffCredential> staffForCard(const std::vector<StaffCredential>& staff,
                                            std::string_view cardNumber);

// Five taps in the top-left corner within three seconds: no visible button tempts residents.
class HiddenGesture {
 public:
  // `x`, `y` as fractions of the window; true when this tap completes the gesture.
  bool tap(float x, float y, Millis now);

 private:
  static constexpr int kTaps = 5;
  static constexpr Millis kWindow = 3'000;
  std::vector<Millis> m_taps;
};

}  // namespace kiosk::app
