#include "kiosk/sample_views.hpp"

namespace kiosk::app::samples {

namespace {
constexpr std::int64_t kNov2026 = 1'795'000'000;  // 2026-11-18, a fixed instant for screenshots
constexpr std::int64_t kDay = 86'400;
}  // namespace

AccountView account() {
  AccountView v;
  v.utility = Utility::Electricity;
  v.cardNumber = "3101000012345678";
  v.meterNumber = "0031-2025-88164";
  v.holderMasked = "张*明";
  v.addressMasked = "3栋 2单元 ***室";
  v.balanceMinor = 1'834;
  v.balanceTime = kNov2026 - 2 * kDay;
  v.alarm = AlarmLevel::Low;
  v.recent = {{kNov2026 - 20 * kDay, 20'000}, {kNov2026 - 51 * kDay, 10'000},
              {kNov2026 - 83 * kDay, 20'000}};
  v.usage = {{"2026-06", 182'400}, {"2026-07", 265'100}, {"2026-08", 288'900},
             {"2026-09", 201'300}, {"2026-10", 156'700}, {"2026-11", 98'200}};
  v.fees = {{"property", 12'000}};
  v.pendingTokens = 1;
  return v;
}

AccountView waterAccount() {
  AccountView v;
  v.utility = Utility::Water;
  v.cardNumber = "8800000003";
  v.meterNumber = "52000001";
  v.holderMasked = "王*";
  v.addressMasked = "B栋 ***室";
  v.recent = {{kNov2026 - 3 * kDay, 2'000}};
  return v;
}

AmountView amount() {
  AmountView v;
  v.utility = Utility::Electricity;
  v.presetsMinor = {5'000, 10'000, 20'000, 30'000, 50'000, 100'000};
  v.entered = "100";
  v.minMinor = 1'000;
  v.maxMinor = 200'000;
  v.feesOwedMinor = 12'000;
  v.feeShareMinor = 3'000;
  v.priceMinorPerUnit = 56;
  return v;
}

PayView pay() {
  PayView v;
  v.payUrl = "http://127.0.0.1:8443/pay/ord_7Q2K9X4M1C";
  v.orderId = "ord_7Q2K9X4M1C";
  v.amountMinor = 10'000;
  v.feesMinor = 3'000;
  v.creditMinor = 7'000;
  v.secondsLeft = 173;
  v.receiptUrl = "http://127.0.0.1:8443/receipt/ord_7Q2K9X4M1C";
  return v;
}

WritingView writing() { return WritingView{2, 3}; }

DoneView done() {
  DoneView v;
  v.utility = Utility::Electricity;
  v.creditMinor = 7'000;
  v.feesPaidMinor = 3'000;
  v.receiptUrl = "http://127.0.0.1:8443/receipt/ord_7Q2K9X4M1C";
  v.cardNumber = "8800000001";
  v.meterNumber = "41000001";
  v.items = {{"ord_7Q2K9X4M1C", 12, 7'000, 3'000}};
  v.at = 1'795'488'060;  // 2026-11-25
  return v;
}

ServiceContact contact() { return {"400-820-1234", "08:00-20:00"}; }

ErrorView error(const std::string& kind) {
  ErrorView v;
  v.titleKey = "error." + kind + ".title";
  v.detailKey = "error." + kind + ".detail";
  v.actionKey = "error." + kind + ".action";
  v.code = "E-" + kind;
  v.canRetry = kind == "network" || kind == "declined" || kind == "expired";
  v.contact = contact();
  if (kind == "unconfirmed") {
    v.orderId = "ord_7Q2K9X4M1C";
    v.receiptUrl = "http://127.0.0.1:8443/receipt/ord_7Q2K9X4M1C";
  }
  return v;
}

TakeCardView takeCard() { return TakeCardView{"http://127.0.0.1:8443/receipt/ord_7Q2K9X4M1C", contact()}; }

ReinsertView reinsert() { return ReinsertView{"3101000012345678", 52, false}; }

OutOfServiceView outOfService() { return OutOfServiceView{"oos.reader", contact()}; }

PinView pin() { return PinView{4, 0, true}; }

MaintenanceView maintenance() {
  MaintenanceView v;
  v.staffName = "王工 (S-002)";
  v.health = {{"maint.reader", true, "maint.detail.reader_name", {"Virtual PCD 00 00"}},
              {"maint.pcscd", true, "maint.detail.running", {}},
              {"maint.network", false, "maint.detail.unreachable", {}},
              {"maint.cloud", false, "maint.detail.no_config", {}},
              {"maint.disk", true, "maint.detail.disk_free", {"41"}},
              {"maint.journal", true, "maint.detail.journal_ok", {}}};
  v.outboxBacklog = 17;
  v.lastSync = kNov2026 - 3'600;
  v.attention = {{"ord_7Q2K9X4M1C", "3101000012345678", 10'000, "maint.state.paid_not_written"}};
  v.recentLogs = {"09:40:02 info card inserted (reader 0)",
                  "09:40:03 info card **** **** **** 5678 read and authenticated in 5 APDUs",
                  "09:40:31 warn cloud: timeout after 5 s (GET /v1/kiosk/config)",
                  "09:41:10 info order ord_7Q2K9X4M1C paid",
                  "09:41:12 warn card removed during write; waiting for it",
                  "09:41:15 warn cloud: POST /v1/kiosk/orders/ord_7Q2K9X4M1C/confirm failed: "
                  "timeout after 5 s; retrying in 30 s (attempt 3 of 10)"};
  v.configVersion = "\"cfg-41\"";
  return v;
}

ReaderTestView readerTest() {
  ReaderTestView v;
  v.cardNumber = "3101000012345678";
  v.utility = Utility::Electricity;
  v.meterNumber = "0031-2025-88164";
  v.accountNumber = "3-2-1102";
  v.tokens = {{41, 5'000}, {42, 10'000}};
  v.freeRecords = 6;
  v.meter = MeterReport{40, 1'834, 15'234'500, kNov2026 - 86'400, false, false, true};
  v.tariff = TariffOnCard{56, {2'000, 1'000, 500}, 1'000};
  return v;
}

std::vector<std::string> screenNames() {
  return {"attract",
          "reading",
          "account",
          "account:water",
          "account:offline",
          "account:card_full",
          "amount",
          "pay",
          "pay:offline",
          "writing",
          "done",
          "reinsert",
          "take_card",
          "out_of_service",
          "error:card_unreadable",
          "error:foreign_card",
          "error:not_authentic",
          "error:blocked",
          "error:network",
          "error:declined",
          "error:expired",
          "error:unconfirmed",
          "error:refunded",
          "error:write_failed",
          "error:card_full",
          "pin",
          "maintenance",
          "maintenance:reader_test",
          "maintenance:busy"};
}

}  // namespace kiosk::app::samples
