#include <gtest/gtest.h>

#include "card/id_verifier.hpp"
#include "fixtures.hpp"

namespace kiosk::card {
namespace {

using namespace test;

// The ID file of a card issued by the test issuer with card number `number`. (ECDSA
// signatures are randomised: two issuances of the same card give two different files.)
Bytes idFileOf(std::uint64_t number) {
  IssueRequest request = standardRequest();
  request.cardNumber = number;
  auto image = issueCard(request, loadKey(kIssuerPem), kSmMaster, loadKey(kCardPem));
  EXPECT_TRUE(image);
  return image ? image->id : Bytes{};
}

Bytes flipped(Bytes file, std::size_t index, std::uint8_t mask) {
  if (index < file.size()) file[index] ^= mask;
  return file;
}

TEST(IdVerifier, AcceptsTheIssuersIdFilesAndGivesTheCertifiedKey) {
  IdVerifier ids(loadKey(kIssuerPem).publicOnly());
  const Bytes file = idFileOf(kCardNumber);
  auto verified = ids.check(file);
  ASSERT_TRUE(verified) << describe(verified.error());
  EXPECT_EQ(verified->id.cardNumber, kCardNumber);
  EXPECT_EQ(verified->cardKey->publicPoint(), loadKey(kCardPem).publicPoint());
  auto again = ids.check(file);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->id, verified->id);
  EXPECT_EQ(again->cardKey->publicPoint(), verified->cardKey->publicPoint());
  EXPECT_EQ(ids.hits(), 1U);
  EXPECT_EQ(ids.size(), 1U);
}

TEST(IdVerifier, RemembersNoFailure) {
  IdVerifier ids(loadKey(kIssuerPem).publicOnly());
  IssueRequest request = standardRequest();
  auto foreign = issueCard(request, loadKey(kOtherPem), kSmMaster, loadKey(kCardPem));
  ASSERT_TRUE(foreign);
  const Bytes genuine = idFileOf(kCardNumber);
  ASSERT_GT(genuine.size(), 5U);
  const Bytes edited = flipped(genuine, genuine.size() - 1, 0x01);  // in the issuer's signature
  const Bytes garbled = flipped(genuine, 5, 0xFF);
  for (int round = 0; round < 2; ++round) {
    EXPECT_EQ(ids.check(foreign->id).error(), CardError::NotAuthentic);
    EXPECT_EQ(ids.check(edited).error(), CardError::NotAuthentic);
    EXPECT_EQ(ids.check(garbled).error(), CardError::BadData);
  }
  EXPECT_EQ(ids.size(), 0U);
  EXPECT_EQ(ids.hits(), 0U);
  // The real file still passes, and only it is remembered.
  EXPECT_TRUE(ids.check(genuine));
  EXPECT_EQ(ids.size(), 1U);
  EXPECT_EQ(ids.check(edited).error(), CardError::NotAuthentic);
}

TEST(IdVerifier, KeepsTheMostRecentlyUsedWithinItsCapacity) {
  IdVerifier ids(loadKey(kIssuerPem).publicOnly(), 2);
  const Bytes a = idFileOf(1001);
  const Bytes b = idFileOf(1002);
  const Bytes c = idFileOf(1003);
  ASSERT_TRUE(ids.check(a));
  ASSERT_TRUE(ids.check(b));
  ASSERT_TRUE(ids.check(a));  // hit: a is now more recent than b
  EXPECT_EQ(ids.hits(), 1U);
  ASSERT_TRUE(ids.check(c));  // full: b, the least recently used, goes
  EXPECT_EQ(ids.size(), 2U);
  ASSERT_TRUE(ids.check(a));
  EXPECT_EQ(ids.hits(), 2U);
  ASSERT_TRUE(ids.check(b));  // verified again; now c is the least recently used and goes
  EXPECT_EQ(ids.hits(), 2U);
  ASSERT_TRUE(ids.check(a));
  ASSERT_TRUE(ids.check(b));
  EXPECT_EQ(ids.hits(), 4U);
  ASSERT_TRUE(ids.check(c));
  EXPECT_EQ(ids.hits(), 4U);
  EXPECT_EQ(ids.size(), 2U);
}

TEST(IdVerifier, WithoutAnIssuerKeyNothingIsAuthentic) {
  IdVerifier ids{EcKey{}};
  EXPECT_EQ(ids.check(idFileOf(kCardNumber)).error(), CardError::NotAuthentic);
}

}  // namespace
}  // namespace kiosk::card
