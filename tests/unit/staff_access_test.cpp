#include "kiosk/staff_access.hpp"

#include "platform/bytes.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>

using namespace kiosk::app;

namespace {

// A credential made the way the cloud makes it (PBKDF2-HMAC-SHA256, 32 bytes).
StaffCredential credential(const std::string& id, const std::string& pin, int iterations = 1000) {
  const kiosk::Bytes salt{0x5A, 0x17, 0x99, 0x01, 0x42, 0x42, 0x10, 0xEE};
  kiosk::Bytes hash(32);
  PKCS5_PBKDF2_HMAC(pin.data(), static_cast<int>(pin.size()), salt.data(),
                    static_cast<int>(salt.size()), iterations, EVP_sha256(),
                    static_cast<int>(hash.size()), hash.data());
  return StaffCredential{id, "Staff " + id, kiosk::toHex(salt), kiosk::toHex(hash),
                         iterations, "9900000000000" + id};
}

}  // namespace

TEST(VerifyPin, AcceptsOnlyTheRightPin) {
  const auto staff = credential("1", "482913");
  EXPECT_TRUE(verifyPin(staff, "482913"));
  EXPECT_FALSE(verifyPin(staff, "482914"));
  EXPECT_FALSE(verifyPin(staff, ""));
}

TEST(VerifyPin, MatchesAPublishedPbkdf2Sha256Vector) {
  // PBKDF2-HMAC-SHA256(P="password", S="salt", c=1, dkLen=32), the widely published vector.
  StaffCredential staff;
  staff.saltHex = kiosk::toHex(kiosk::Bytes{'s', 'a', 'l', 't'});
  staff.hashHex = "120FB6CFFCF8B32C43E7225256C4F837A86548C92CCC35480805987CB70BE17B";
  staff.iterations = 1;
  EXPECT_TRUE(verifyPin(staff, "password"));
}

TEST(VerifyPin, MalformedCredentialNeverMatches) {
  auto staff = credential("1", "1234");
  staff.hashHex = "not hex";
  EXPECT_FALSE(verifyPin(staff, "1234"));
  staff = credential("1", "1234");
  staff.iterations = 0;
  EXPECT_FALSE(verifyPin(staff, "1234"));
}

TEST(PinGate, LocksOutWithAGrowingDelayAfterThreeFailures) {
  const std::vector<StaffCredential> staff{credential("1", "482913"), credential("2", "777000")};
  PinGate gate;
  Millis now = 0;
  EXPECT_EQ(gate.attempt("000000", staff, now).verdict, PinGate::Verdict::Rejected);
  EXPECT_EQ(gate.attempt("111111", staff, now).verdict, PinGate::Verdict::Rejected);
  EXPECT_FALSE(gate.lockedOut(now));
  const auto third = gate.attempt("222222", staff, now);
  EXPECT_EQ(third.verdict, PinGate::Verdict::Rejected);
  EXPECT_EQ(third.lockedUntil, 30'000);
  // Even the right PIN is refused during the lockout.
  EXPECT_EQ(gate.attempt("482913", staff, 10'000).verdict, PinGate::Verdict::LockedOut);
  // The next failure doubles it.
  EXPECT_EQ(gate.attempt("333333", staff, 30'000).lockedUntil, 30'000 + 60'000);
  EXPECT_EQ(gate.attempt("444444", staff, 90'000).lockedUntil, 90'000 + 120'000);
  // After the lockout the right PIN opens, and the count starts over.
  const auto ok = gate.attempt("777000", staff, 210'000);
  EXPECT_EQ(ok.verdict, PinGate::Verdict::Accepted);
  EXPECT_EQ(ok.staffId, "2");
  EXPECT_EQ(gate.failures(), 0);
}

TEST(PinGate, LockoutIsCappedAtAnHour) {
  const std::vector<StaffCredential> staff{credential("1", "482913", 1)};
  PinGate gate;
  Millis now = 0;
  PinGate::Result last;
  for (int i = 0; i < 20; ++i) {
    last = gate.attempt("000000", staff, now);
    now = std::max(now, last.lockedUntil);
  }
  EXPECT_EQ(gate.attempt("000000", staff, now).lockedUntil, now + 3'600'000);
}

TEST(StaffCard, FindsItsOwner) {
  const std::vector<StaffCredential> staff{credential("1", "1"), credential("2", "2")};
  EXPECT_EQ(staffForCard(staff, "99000000000002")->id, "2");
  EXPECT_FALSE(staffForCard(staff, "3101000012345678").has_value());
}

TEST(HiddenGesture, FiveQuickCornerTaps) {
  HiddenGesture gesture;
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(gesture.tap(0.02F, 0.03F, i * 300));
  EXPECT_TRUE(gesture.tap(0.02F, 0.03F, 1'500));
  // Too slow: taps older than three seconds do not count.
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(gesture.tap(0.02F, 0.03F, 10'000 + i * 900));
  // A tap elsewhere starts over.
  for (int i = 0; i < 4; ++i) gesture.tap(0.02F, 0.03F, 20'000 + i * 100);
  EXPECT_FALSE(gesture.tap(0.5F, 0.5F, 20'500));
  EXPECT_FALSE(gesture.tap(0.02F, 0.03F, 20'600));
}
