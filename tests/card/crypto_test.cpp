#include <gtest/gtest.h>

#include <fstream>

#include "fixtures.hpp"

namespace kiosk::card {
namespace {

using namespace test;

SymKey symKey(std::string_view text) {
  return parseSymKey(text).value();
}

TEST(Cmac, MatchesRfc4493) {
  const SymKey key = symKey("2b7e151628aed2a6abf7158809cf4f3c");
  EXPECT_EQ(toHex(aesCmac(key, {})), "BB1D6929E95937287FA37D129B756746");
  EXPECT_EQ(toHex(aesCmac(key, hex("6bc1bee22e409f96e93d7e117393172a"))),
            "070A16B46B4D4144F79BDD9DD04A287C");
  EXPECT_EQ(toHex(aesCmac(key, hex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411"))),
            "DFA66747DE9AE63030CA32611497C827");
}

TEST(Kdf, IsSp800108CounterModeOverCmac) {
  // One block: CMAC(K, [1]_32 || label || 00 || context || [128]_32), computed by hand here
  // so that the construction documented in docs/card-profile.md is what the code runs.
  const SymKey key = kSmMaster;
  const std::string label = "KIOSK-SM-CARD";
  const Bytes context = hex("001E8DA789118001");  // 8600000000000001
  // [1]_32 || "KIOSK-SM-CARD" || 00 || context || [128]_32
  const Bytes input = hex("00000001" "4B494F534B2D534D2D43415244" "00" "001E8DA789118001" "00000080");
  const auto expected = aesCmac(key, input);
  EXPECT_EQ(toHex(deriveKey(key, label, context)), toHex(expected));
  EXPECT_EQ(toHex(deriveCardSmKey(kSmMaster, kCardNumber)), toHex(expected));
  EXPECT_NE(deriveCardSmKey(kSmMaster, kCardNumber), deriveCardSmKey(kSmMaster, kCardNumber + 1));
  EXPECT_NE(deriveTokenKey(kVendingKey, kMeterNumber, 1),
            deriveReturnKey(kVendingKey, kMeterNumber, 1));
}

TEST(EcKeys, SignVerifyAndPemRoundTrip) {
  auto generated = EcKey::generate();
  ASSERT_TRUE(generated);
  EXPECT_TRUE(generated->hasPrivate());
  const Bytes message = hex("48656C6C6F");
  const Bytes signature = generated->sign(message).value();
  EXPECT_TRUE(generated->verify(message, signature));
  EXPECT_FALSE(generated->verify(hex("48656C6C6E"), signature));
  const EcKey publicKey = EcKey::fromPem(generated->publicPem()).value();
  EXPECT_FALSE(publicKey.hasPrivate());
  EXPECT_TRUE(publicKey.verify(message, signature));
  EXPECT_FALSE(publicKey.sign(message));
  const EcKey privateAgain = EcKey::fromPem(generated->privatePem()).value();
  EXPECT_EQ(privateAgain.publicPoint(), generated->publicPoint());
  const EcKey fromScalar =
      EcKey::fromPrivateScalar(generated->privateScalar(), generated->publicPoint()).value();
  EXPECT_TRUE(publicKey.verify(message, fromScalar.sign(message).value()));
  EXPECT_FALSE(generated->verify(message, {}));
}

TEST(EcKeys, RejectsBadKeys) {
  EXPECT_FALSE(EcKey::fromPem("not a key"));
  Bytes offCurve(65, 0x01);
  offCurve[0] = 0x04;
  EXPECT_FALSE(EcKey::fromPublicPoint(offCurve));
  EXPECT_FALSE(EcKey::fromPublicPoint(Bytes(33, 0x02)));
  // A private scalar that does not match the public point.
  const EcKey card = loadKey(kCardPem);
  const EcKey other = loadKey(kOtherPem);
  EXPECT_FALSE(EcKey::fromPrivateScalar(card.privateScalar(), other.publicPoint()));
}

TEST(KeyFiles, HexOrRawBinary) {
  EXPECT_EQ(parseSymKey("000102030405060708090a0b0c0d0e0f\n").value(), kSmMaster);
  EXPECT_EQ(parseSymKey("  000102030405060708090A0B0C0D0E0F  ").value(), kSmMaster);
  const std::string raw(kSmMaster.begin(), kSmMaster.end());
  EXPECT_EQ(parseSymKey(raw).value(), kSmMaster);
  EXPECT_FALSE(parseSymKey("0001"));
  EXPECT_FALSE(parseSymKey("000102030405060708090a0b0c0d0e0g"));
  EXPECT_FALSE(parseSymKey(""));
  const auto path = std::filesystem::temp_directory_path() /
                    ("kiosk-key-" + std::to_string(::getpid()) + ".hex");
  ASSERT_TRUE(saveSymKey(path, kVendingKey));
  EXPECT_EQ(loadSymKey(path).value(), kVendingKey);
  std::filesystem::remove(path);
  EXPECT_FALSE(loadSymKey(path));
}

TEST(Random, BytesDiffer) {
  EXPECT_EQ(randomBytes(8).size(), 8U);
  EXPECT_NE(randomBytes(16), randomBytes(16));
  EXPECT_TRUE(constantTimeEqual(hex("0102"), hex("0102")));
  EXPECT_FALSE(constantTimeEqual(hex("0102"), hex("0103")));
  EXPECT_FALSE(constantTimeEqual(hex("0102"), hex("010200")));
}

}  // namespace
}  // namespace kiosk::card
