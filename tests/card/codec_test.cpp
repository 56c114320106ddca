#include <gtest/gtest.h>

#include "card/apdu.hpp"
#include "card/tlv.hpp"
#include "fixtures.hpp"

namespace kiosk::card {
namespace {

using test::hex;

TEST(Apdu, EncodesTheFourShortCases) {
  EXPECT_EQ(toHex(encodeApdu({0x00, 0x84, 0x00, 0x00, {}, std::nullopt}).value()), "00840000");
  EXPECT_EQ(toHex(encodeApdu({0x00, 0x84, 0x00, 0x00, {}, std::uint16_t{8}}).value()),
            "0084000008");
  EXPECT_EQ(toHex(encodeApdu({0x00, 0xB0, 0x81, 0x00, {}, std::uint16_t{256}}).value()),
            "00B0810000");
  EXPECT_EQ(toHex(encodeApdu({0x00, 0xA4, 0x04, 0x0C, hex("F04B494F534B0101"), std::nullopt})
                      .value()),
            "00A4040C08F04B494F534B0101");
  EXPECT_EQ(toHex(encodeApdu({0x00, 0x88, 0x00, 0x00, hex("0102"), std::uint16_t{256}}).value()),
            "0088000002010200");
}

TEST(Apdu, RefusesWhatAShortApduCannotCarry) {
  EXPECT_FALSE(encodeApdu({0x00, 0xD6, 0, 0, Bytes(256, 0xAA), std::nullopt}));
  EXPECT_FALSE(encodeApdu({0x00, 0xB0, 0, 0, {}, std::uint16_t{0}}));
  EXPECT_FALSE(encodeApdu({0x00, 0xB0, 0, 0, {}, std::uint16_t{257}}));
}

TEST(Apdu, ParsesEveryCaseBackToTheSameCommand) {
  const std::vector<Apdu> commands = {
      {0x00, 0x84, 0x00, 0x00, {}, std::nullopt},
      {0x00, 0x84, 0x00, 0x00, {}, std::uint16_t{8}},
      {0x00, 0xB0, 0x81, 0x00, {}, std::uint16_t{256}},
      {0x04, 0xDC, 0x01, 0x14, Bytes(40, 0x5A), std::nullopt},
      {0x00, 0x88, 0x00, 0x00, Bytes(255, 0x01), std::uint16_t{256}},
      {0x00, 0x88, 0x00, 0x00, Bytes(1, 0x01), std::uint16_t{1}},
  };
  for (const Apdu& apdu : commands) {
    const Bytes encoded = encodeApdu(apdu).value();
    auto parsed = parseApdu(encoded);
    ASSERT_TRUE(parsed) << toHex(encoded);
    EXPECT_EQ(*parsed, apdu) << toHex(encoded);
  }
}

TEST(Apdu, StrictParserRejectsMalformedCommands) {
  EXPECT_EQ(parseApdu(hex("00A404")).error(), CardError::Protocol);      // short header
  EXPECT_EQ(parseApdu(hex("")).error(), CardError::Protocol);
  EXPECT_EQ(parseApdu(hex("00A4040C0501")).error(), CardError::Protocol);  // Lc 5, 1 byte
  EXPECT_EQ(parseApdu(hex("00A4040C0201020304")).error(), CardError::Protocol);  // 2 extra
  EXPECT_EQ(parseApdu(hex("00B00000000100")).error(), CardError::Protocol);  // extended
}

TEST(Apdu, ResponsesSplitDataAndStatusWord) {
  auto r = parseResponse(hex("01029000"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->data, hex("0102"));
  EXPECT_TRUE(r->ok());
  EXPECT_EQ(parseResponse(hex("6A82"))->sw, sw::kFileNotFound);
  EXPECT_EQ(parseResponse(hex("90")).error(), CardError::Protocol);
  EXPECT_EQ(encodeResponse(hex("AB"), 0x6282), hex("AB6282"));
}

TEST(StatusWord, NamesAndErrors) {
  EXPECT_EQ(statusWordName(0x6A82), "6A82 file or application not found");
  EXPECT_EQ(statusWordName(0x6988), "6988 incorrect secure messaging data objects");
  EXPECT_EQ(statusWordName(0x6110), "61xx more response data available (GET RESPONSE)");
  EXPECT_EQ(statusWordName(0x6C20), "6Cxx wrong Le (resend with the exact Le)");
  EXPECT_EQ(statusWordName(0x1234), "unknown status word");
  EXPECT_EQ(statusWordError(0x6A84), CardError::Full);
  EXPECT_EQ(statusWordError(0x6988), CardError::AccessDenied);
  EXPECT_EQ(statusWordError(0x6982), CardError::AccessDenied);
  EXPECT_EQ(statusWordError(0x6A82), CardError::ForeignCard);
  EXPECT_EQ(statusWordError(0x6A83), CardError::StatusWord);
}

TEST(Tlv, EncodesMultiByteTagsAndLengths) {
  EXPECT_EQ(toHex(encodeTlv(0x5A, hex("0102")).value()), "5A020102");
  EXPECT_EQ(toHex(encodeTlv(0xDF01, hex("AA")).value()), "DF0101AA");
  EXPECT_EQ(toHex(encodeTlv(0x9F8101, hex("AA")).value()), "9F810101AA");
  const Bytes medium = encodeTlv(0x70, Bytes(200, 0x11)).value();
  EXPECT_EQ(toHex(ByteView(medium).first(3)), "7081C8");
  const Bytes large = encodeTlv(0x70, Bytes(300, 0x11)).value();
  EXPECT_EQ(toHex(ByteView(large).first(4)), "7082012C");
  EXPECT_EQ(large.size(), 304U);
  EXPECT_FALSE(encodeTlv(0x1F, hex("00")));      // first byte announces more tag bytes
  EXPECT_FALSE(encodeTlv(0xDF81, hex("00")));    // second byte announces a third
  EXPECT_FALSE(encodeTlv(0, hex("00")));
}

TEST(Tlv, ParsesNestedListsAndRoundTrips) {
  Bytes inner;
  ASSERT_TRUE(appendTlv(inner, 0xDF01, hex("0102")));
  ASSERT_TRUE(appendTlv(inner, 0x9F8101, Bytes(130, 0x33)));
  const Bytes outer = encodeTlv(0x70, inner).value();
  auto list = parseTlvList(outer);
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1U);
  EXPECT_TRUE(list->front().constructed());
  auto children = parseTlvList(list->front().value);
  ASSERT_TRUE(children);
  ASSERT_EQ(children->size(), 2U);
  EXPECT_EQ((*children)[0].tag, 0xDF01U);
  EXPECT_FALSE((*children)[0].constructed());
  EXPECT_EQ((*children)[1].tag, 0x9F8101U);
  EXPECT_EQ((*children)[1].value.size(), 130U);
  ASSERT_NE(findTlv(*children, 0x9F8101), nullptr);
  EXPECT_EQ(findTlv(*children, 0x5A), nullptr);
}

TEST(Tlv, RejectsMalformedInputWithoutReadingPastTheEnd) {
  const char* bad[] = {
      "5A",            // no length
      "5A03AABB",      // value shorter than length
      "DF",            // tag cut
      "9F8181",        // tag longer than three bytes / cut
      "5A8101AA",      // long form for a short length
      "5A820010AA",    // long form two bytes for a length under 256
      "5A80",          // indefinite length
      "5A83000001AA",  // three-byte length
      "5A8185AA",      // long form, value cut
      "5A01AA5B",      // trailing garbage
  };
  for (const char* text : bad) {
    EXPECT_FALSE(parseTlvList(hex(text))) << text;
  }
}

}  // namespace
}  // namespace kiosk::card
