#pragma once
// View models of the resident screens: plain data the flow fills in and the screens draw.
// No ImGui here, so the flow, tests and scripts use them headless.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kiosk::app {

enum class Utility { Electricity, Water };

// Meter alarm state as last reported on the card's RETURN file.
enum class AlarmLevel { None, Low, VeryLow, Critical, CutOff };

struct Purchase {
  std::int64_t time = 0;  // Unix seconds
  std::int64_t amountMinor = 0;
};

struct MonthUsage {
  std::string month;           // "2026-10"
  std::int64_t milliUnits = 0; // consumption in 1/1000 kWh or 1/1000 m3
};

struct FeeOwed {
  std::string kind;  // "property", "rent", "water", "other": key under "fee."
  std::int64_t amountMinor = 0;
};

struct AccountView {
  Utility utility = Utility::Electricity;
  std::string cardNumber;     // shown masked
  std::string meterNumber;
  std::string holderMasked;   // "张*明"
  std::string addressMasked;  // "3栋 *** 室"
  std::int64_t balanceMinor = 0;  // as last reported by the meter
  std::int64_t balanceTime = 0;   // when the meter reported it (Unix seconds)
  AlarmLevel alarm = AlarmLevel::None;
  std::vector<Purchase> recent;
  std::vector<MonthUsage> usage;  // oldest first
  std::vector<FeeOwed> fees;
  int pendingTokens = 0;          // paid credit waiting to be written to this card
  // The cloud could not be asked: holder, address, fees, top-ups and pending credit are not
  // known (shown as unknown, never as none), and paying is not possible.
  bool offline = false;
  // Every CREDIT record holds a token the meter has not loaded: no room for another until the
  // card has been in its meter, so paying is not offered.
  bool cardFull = false;
  bool payable() const { return !offline && !cardFull; }
};

struct AmountView {
  Utility utility = Utility::Electricity;
  std::vector<std::int64_t> presetsMinor;
  std::string entered;            // digits typed on the keypad, in whole yuan
  std::int64_t minMinor = 0;
  std::int64_t maxMinor = 0;
  std::int64_t feesOwedMinor = 0; // taken first from the amount, per the account's policy
  std::int64_t feeShareMinor = 0; // of the chosen amount: what goes to fees
  std::int64_t priceMinorPerUnit = 0;  // current tariff, per kWh or m3
  std::optional<std::string> problemKey;  // "amount.too_low", "amount.too_high"
  std::int64_t amountMinor() const;       // the entered amount (whole yuan) in minor units
};

struct PayView {
  std::string payUrl;
  std::string orderId;
  std::string receiptUrl;  // the order's page at the cloud, whatever becomes of it
  std::int64_t amountMinor = 0;
  std::int64_t creditMinor = 0;
  std::int64_t feesMinor = 0;
  int secondsLeft = 0;
  bool reachable = true;   // false: the cloud does not answer; the outcome is not known
};

struct WritingView {
  int step = 1;   // 1..steps: the write starts at its first step
  int steps = 3;
};

// One order a write delivered, as the receipt lists it.
struct ReceiptItem {
  std::string orderId;
  std::uint32_t sequence = 0;  // the token's; 0 when all of it paid fees
  std::int64_t creditMinor = 0;
  std::int64_t feesMinor = 0;
};

struct DoneView {
  Utility utility = Utility::Electricity;
  std::int64_t creditMinor = 0;
  std::int64_t feesPaidMinor = 0;
  std::string receiptUrl;
  // The receipt's facts; the screen words them in its language.
  std::string cardNumber;   // shown masked
  std::string meterNumber;
  std::vector<ReceiptItem> items;
  std::int64_t at = 0;      // Unix seconds, shown in the kiosk's time zone
};

// Whom residents call: the property's service phone and hours (empty: not configured).
struct ServiceContact {
  std::string phone;
  std::string hours;
};

struct ErrorView {
  std::string titleKey;   // "error.network.title"
  std::string detailKey;  // what happened
  std::string actionKey;  // what to do
  std::string code;       // shown small, for staff ("E-NET-01")
  bool canRetry = false;
  std::string orderId;    // the order the screen speaks of, if any
  std::string receiptUrl; // its page at the cloud, shown as a QR code (empty: none)
  ServiceContact contact;
};

struct ReinsertView {
  std::string cardNumber;
  int secondsLeft = 0;
  bool wrongCard = false;  // a different card was inserted
};

// The resident's card is still in the reader after the kiosk is done with it.
struct TakeCardView {
  std::string receiptUrl;  // the last screen's receipt, still offered
  ServiceContact contact;
};

struct OutOfServiceView {
  std::string reasonKey;
  ServiceContact contact;
};

// Maintenance: the staff PIN pad, reached by the hidden gesture.
struct PinView {
  int digits = 0;          // how many digits were typed (shown as dots)
  int lockedSeconds = 0;   // > 0: locked out after failures, for this long
  bool rejected = false;   // the last PIN was wrong
  bool checking = false;   // the PIN is being checked: the pad waits
};

struct HealthItem {
  std::string nameKey;  // "maint.reader", "maint.pcscd", ...
  bool ok = true;
  // What was found, worded when drawn in the screen's language: a key under "maint.detail."
  // whose "{}" are filled in from `args` in order ("maint.detail.disk_free", {"41"}).
  std::string detailKey;
  std::vector<std::string> args;
};

// A transaction that needs a person: paid but not delivered, or stuck in a state.
struct AttentionItem {
  std::string orderId;
  std::string cardNumber;
  std::int64_t amountMinor = 0;
  std::string stateKey;   // "maint.state.paid_not_written", ...
};

// A token on the card that its meter has not loaded yet.
struct TokenOnCard {
  std::uint32_t sequence = 0;
  std::int64_t amountMinor = 0;
};

// The meter's last report on the card (its RETURN file).
struct MeterReport {
  std::uint32_t lastSequence = 0;   // the last token it loaded; 0: none yet
  std::int64_t remainingMinor = 0;  // negative inside the overdraft
  std::uint64_t milliUnits = 0;     // consumption since installation, 1/1000 kWh or m3
  std::int64_t at = 0;              // Unix seconds
  bool cutOff = false;
  bool tamper = false;
  bool lowBalance = false;
};

// The meter's tariff on the card (its PARAMS file).
struct TariffOnCard {
  std::int64_t priceMinorPerUnit = 0;
  std::int64_t alarmsMinor[3] = {0, 0, 0};  // remaining credit that raises alarm level 1, 2, 3
  std::int64_t overdraftMinor = 0;          // supply is cut this far below zero
};

// The reader test: the card in the reader read and authenticated, file by file, or why it
// could not be. The dashboard words it in its language.
struct ReaderTestView {
  std::string problemKey;   // "maint.test.problem.no_card", ...; empty: read and authentic
  // ID
  std::string cardNumber;   // shown masked
  bool staffCard = false;
  Utility utility = Utility::Electricity;
  std::string meterNumber;
  std::string accountNumber;
  // CREDIT
  std::vector<TokenOnCard> tokens;
  int freeRecords = 0;
  std::optional<MeterReport> meter;    // RETURN; none until the meter has written
  std::optional<TariffOnCard> tariff;  // PARAMS
};

struct MaintenanceView {
  std::string staffName;
  std::vector<HealthItem> health;
  int outboxBacklog = 0;
  std::int64_t lastSync = 0;  // Unix seconds, 0: never
  std::vector<AttentionItem> attention;
  std::vector<std::string> recentLogs;  // newest last
  std::string configVersion;  // the ETag of the kiosk config in use
  // The last reader test of this staff visit, shown until the next one starts.
  std::optional<ReaderTestView> readerTest;
  // Under way on the maintenance worker; the window keeps drawing meanwhile.
  bool readerTesting = false;
  bool restarting = false;    // the last sync before the restart
};

// Formatting shared by screens and receipts: "¥1,234.50" from 123450 minor units.
std::string formatMoney(std::int64_t minor);
// The same without ".00" when there are no cents: "¥1,000" (preset buttons).
std::string formatMoneyShort(std::int64_t minor);

}  // namespace kiosk::app
