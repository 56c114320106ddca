#include "kiosk/qr.hpp"
#include "kiosk/views.hpp"

#include <gtest/gtest.h>

using namespace kiosk::app;

TEST(FormatMoney, MinorUnitsWithThousandsSeparators) {
  EXPECT_EQ(formatMoney(0), "¥0.00");
  EXPECT_EQ(formatMoney(5), "¥0.05");
  EXPECT_EQ(formatMoney(1834), "¥18.34");
  EXPECT_EQ(formatMoney(123456789), "¥1,234,567.89");
  EXPECT_EQ(formatMoney(-1050), "-¥10.50");
  EXPECT_EQ(formatMoneyShort(100000), "¥1,000");
  EXPECT_EQ(formatMoneyShort(1050), "¥10.50");
}

TEST(AmountView, EnteredWholeYuanBecomesMinorUnits) {
  AmountView view;
  view.entered = "150";
  EXPECT_EQ(view.amountMinor(), 15000);
  view.entered = "";
  EXPECT_EQ(view.amountMinor(), 0);
  view.entered = "12a";
  EXPECT_EQ(view.amountMinor(), 0);
}

TEST(Qr, EncodesAPayUrl) {
  const auto qr = makeQr("http://127.0.0.1:8443/pay/ord_7Q2K9X4M1C");
  ASSERT_TRUE(qr.has_value());
  EXPECT_GE(qr->size, 21);
  EXPECT_EQ(qr->dark.size(), static_cast<std::size_t>(qr->size * qr->size));
  // The three finder patterns: the corner modules are dark.
  EXPECT_TRUE(qr->at(0, 0));
  EXPECT_TRUE(qr->at(qr->size - 1, 0));
  EXPECT_TRUE(qr->at(0, qr->size - 1));
}
