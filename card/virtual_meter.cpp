#include "card/virtual_meter.hpp"

#include <algorithm>

#include "card/apdu.hpp"
#include "card/local_channel.hpp"
#include "card/write_script.hpp"

namespace kiosk::card {

MeterConfig MeterConfig::fromVendingKey(const SymKey& vendingKey, std::uint64_t meterNumber,
                                        Utility utility, std::uint8_t keyVersion) {
  MeterConfig config;
  config.meterNumber = meterNumber;
  config.utility = utility;
  config.keyVersion = keyVersion;
  config.tokenKey = deriveTokenKey(vendingKey, meterNumber, keyVersion);
  config.returnKey = deriveReturnKey(vendingKey, meterNumber, keyVersion);
  return config;
}

std::string_view toString(TokenVerdict verdict) {
  switch (verdict) {
    case TokenVerdict::Loaded: return "loaded";
    case TokenVerdict::ForgedMac: return "forged MAC";
    case TokenVerdict::Replayed: return "replayed";
    case TokenVerdict::WrongMeter: return "for another meter";
    case TokenVerdict::WrongUtility: return "for another utility";
    case TokenVerdict::WrongKeyVersion: return "unknown key version";
  }
  return "unknown";
}

VirtualMeter::VirtualMeter(MeterConfig config, std::int64_t startTime)
    : m_config(config) {
  m_state.now = startTime;
}

TokenVerdict VirtualMeter::judge(const CreditToken& token) const {
  if (token.meterNumber != m_config.meterNumber) return TokenVerdict::WrongMeter;
  if (token.utility != m_config.utility) return TokenVerdict::WrongUtility;
  if (token.keyVersion != m_config.keyVersion) return TokenVerdict::WrongKeyVersion;
  if (!verifyToken(token, m_config.tokenKey)) return TokenVerdict::ForgedMac;
  if (token.sequence <= m_state.lastSequence) return TokenVerdict::Replayed;
  return TokenVerdict::Loaded;
}

Result<MeterVisit, CardError> VirtualMeter::insertCard(CardEmulator& card) {
  LocalChannel channel(card);
  return insertCard(channel);
}

Result<MeterVisit, CardError> VirtualMeter::insertCard(CardChannel& channel) {
  MeterVisit visit;
  const auto exchange = [&](ByteView command) -> Result<Response, CardError> {
    ++visit.apdus;
    auto raw = channel.transmit(command);
    if (!raw) return fail(raw.error());
    return parseResponse(*raw);
  };
  if (auto begun = channel.beginTransaction(); !begun) return fail(begun.error());
  struct End {
    CardChannel& channel;
    ~End() { (void)channel.endTransaction(); }
  } end{channel};

  auto selected = exchange(commands::selectAid());
  if (!selected) return fail(selected.error());
  if (!selected->ok()) return fail(CardError::ForeignCard);

  auto paramsFile = exchange(commands::readBinary(profile::kSfiParams));
  if (!paramsFile) return fail(paramsFile.error());
  if (paramsFile->ok()) {
    auto params = decodeParams(paramsFile->data);
    if (params && params->utility == m_config.utility) {
      visit.paramsAdopted = m_state.params != *params;
      m_state.params = *params;
    }
  }
  if (!m_state.params) return fail(CardError::BadData);

  auto credit = exchange(commands::readAllRecords(profile::kSfiCredit));
  if (!credit) return fail(credit.error());
  if (!credit->ok()) return fail(statusWordError(credit->sw));
  auto tokens = decodeCreditRecords(credit->data);
  if (!tokens) return fail(tokens.error());
  // Oldest first, so that a card carrying several tokens loads all of them.
  std::sort(tokens->begin(), tokens->end(),
            [](const auto& a, const auto& b) { return a.second.sequence < b.second.sequence; });

  for (const auto& [record, token] : *tokens) {
    TokenOutcome outcome{record, token, judge(token)};
    if (outcome.verdict == TokenVerdict::Loaded) {
      m_state.credit += token.amount;
      m_state.lastSequence = token.sequence;
      visit.loadedAmount += token.amount;
    } else if (outcome.verdict == TokenVerdict::ForgedMac) {
      m_state.tamper = true;
    }
    if (outcome.verdict == TokenVerdict::Loaded || outcome.verdict == TokenVerdict::Replayed) {
      // Loaded now or before: the record is free again for the next purchase.
      auto freed = exchange(commands::updateRecordPlain(profile::kSfiCredit, record,
                                                        Bytes(profile::kTokenSize, 0)));
      if (!freed) return fail(freed.error());
      if (!freed->ok()) return fail(statusWordError(freed->sw));
    }
    visit.tokens.push_back(outcome);
  }
  updateAlarms();
  if (m_state.cutOff && m_state.credit > 0) m_state.cutOff = false;

  visit.written = returnRecord();
  auto written = exchange(commands::updateBinaryPlain(profile::kSfiReturn, 0,
                                                      encodeReturn(visit.written)));
  if (!written) return fail(written.error());
  if (!written->ok()) return fail(statusWordError(written->sw));
  return visit;
}

void VirtualMeter::consume(std::uint64_t milliUnits) {
  if (m_state.cutOff || !m_state.params || milliUnits == 0) return;
  m_state.consumption += milliUnits;
  // Price is per whole unit; charge whole minor units and carry the fraction, so that
  // many small steps cost exactly what one large one does.
  const std::uint64_t milliMinor = milliUnits * m_state.params->pricePerUnit + m_costRemainder;
  const std::uint64_t charged = milliMinor / 1000;
  m_costRemainder = milliMinor % 1000;
  m_state.credit -= static_cast<std::int64_t>(charged);
  updateAlarms();
  if (m_state.credit <= -static_cast<std::int64_t>(m_state.params->overdraftLimit)) {
    m_state.cutOff = true;
  }
}

void VirtualMeter::run(std::int64_t seconds, std::uint64_t milliUnitsPerHour) {
  std::uint64_t carried = 0;  // thousandths of a milli-unit-hour: keeps partial hours exact
  while (seconds > 0) {
    const std::int64_t step = std::min<std::int64_t>(seconds, 3600);
    const std::uint64_t scaled = milliUnitsPerHour * static_cast<std::uint64_t>(step) + carried;
    carried = scaled % 3600;
    consume(scaled / 3600);
    m_state.now += step;
    seconds -= step;
  }
}

bool VirtualMeter::resume(const ReturnRecord& last) {
  if (last.meterNumber != m_config.meterNumber || last.utility != m_config.utility ||
      last.keyVersion != m_config.keyVersion || !verifyReturn(last, m_config.returnKey)) {
    return false;
  }
  m_state.credit = last.remainingCredit;
  m_state.consumption = last.consumption;
  m_state.lastSequence = last.lastSequence;
  m_state.cutOff = last.cutOff();
  m_state.tamper = last.tamper();
  m_state.alarmLevel = last.alarmLevel;
  m_state.now = std::max(m_state.now, last.timestamp);
  return true;
}

void VirtualMeter::updateAlarms() {
  if (!m_state.params) return;
  const auto& levels = m_state.params->alarmLevels;
  std::uint8_t level = 0;
  for (std::size_t i = 0; i < levels.size(); ++i) {
    if (m_state.credit <= static_cast<std::int64_t>(levels[i])) {
      level = static_cast<std::uint8_t>(i + 1);
    }
  }
  m_state.alarmLevel = level;
}

ReturnRecord VirtualMeter::returnRecord() const {
  ReturnRecord r;
  r.utility = m_config.utility;
  r.keyVersion = m_config.keyVersion;
  r.meterNumber = m_config.meterNumber;
  r.lastSequence = m_state.lastSequence;
  r.remainingCredit = m_state.credit;
  r.consumption = m_state.consumption;
  r.timestamp = m_state.now;
  r.alarmLevel = m_state.alarmLevel;
  r.flags = static_cast<std::uint8_t>((m_state.cutOff ? return_flags::kCutOff : 0) |
                                      (m_state.tamper ? return_flags::kTamper : 0) |
                                      (m_state.alarmLevel > 0 ? return_flags::kLowBalance : 0));
  sealReturn(r, m_config.returnKey);
  return r;
}

}  // namespace kiosk::card
