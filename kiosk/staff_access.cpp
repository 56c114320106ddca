#include "kiosk/staff_access.hpp"

#include "platform/bytes.hpp"
#include "protocol/signing.hpp"

#include <algorithm>

namespace kiosk::app {

bool verifyPin(const StaffCredential& staff, std::string_view pin) {
  const auto expected = kiosk::fromHex(staff.hashHex);
  if (!expected || expected->empty() || staff.iterations <= 0) return false;
  const std::string derived =
      protocol::pbkdf2Hex(pin, staff.saltHex, staff.iterations, expected->size());
  return !derived.empty() && protocol::constantTimeEqual(derived, toLowerHex(*expected));
}

std::optional<std::string> matchPin(std::string_view pin, const std::vector<StaffCredential>& staff) {
  for (const auto& member : staff) {
    if (verifyPin(member, pin)) return member.id;
  }
  return std::nullopt;
}

PinGate::Result PinGate::attempt(std::string_view pin, const std::vector<StaffCredential>& staff,
                                 Millis now) {
  if (lockedOut(now)) return record(std::nullopt, now);
  return record(matchPin(pin, staff), now);
}

PinGate::Result PinGate::record(const std::optional<std::string>& staffId, Millis now) {
  Result result;
  if (lockedOut(now)) {
    result.verdict = Verdict::LockedOut;
    result.lockedUntil = m_lockedUntil;
    return result;
  }
  if (staffId) {
    m_failures = 0;
    result.verdict = Verdict::Accepted;
    result.staffId = *staffId;
    return result;
  }
  ++m_failures;
  if (m_failures >= m_config.freeAttempts) {
    // 30 s after the third failure, 60 s after the fourth, and so on.
    Millis lockout = m_config.firstLockout;
    for (int i = m_config.freeAttempts; i < m_failures && lockout < m_config.maxLockout; ++i) {
      lockout *= 2;
    }
    m_lockedUntil = now + std::min(lockout, m_config.maxLockout);
    result.lockedUntil = m_lockedUntil;
  }
  result.verdict = Verdict::Rejected;
  return result;
}

std::optional<StaffCredential> staffForCard(const std::vector<StaffCredential>& staff,
                                            std::string_view cardNumber) {
  for (const auto& member : staff) {
    if (member.cardNumber && *member.cardNumber == cardNumber) return member;
  }
  return std::nullopt;
}

bool HiddenGesture::tap(float x, float y, Millis now) {
  constexpr float kCorner = 0.12F;
  if (x > kCorner || y > kCorner) {
    m_taps.clear();
    return false;
  }
  m_taps.push_back(now);
  std::erase_if(m_taps, [now](Millis t) { return now - t > kWindow; });
  if (static_cast<int>(m_taps.size()) >= kTaps) {
    m_taps.clear();
    return true;
  }
  return false;
}

}  // namespace kiosk::app
