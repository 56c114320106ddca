#include "card/virtual_card.hpp"

#include <algorithm>

#include "card/write_script.hpp"

namespace kiosk::card {

namespace {

constexpr std::uint8_t kSelectByName = 0x04;
constexpr std::uint8_t kSelectEfUnderDf = 0x02;
constexpr std::uint8_t kSelectMfDfEf = 0x00;

std::optional<std::uint8_t> sfiForFid(std::uint16_t fid) {
  switch (fid) {
    case profile::kFidId: return profile::kSfiId;
    case profile::kFidCredit: return profile::kSfiCredit;
    case profile::kFidReturn: return profile::kSfiReturn;
    case profile::kFidParams: return profile::kSfiParams;
    default: return std::nullopt;
  }
}

bool allZero(ByteView bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; });
}

}  // namespace

// ---------------------------------------------------------------------------------------------

VirtualCard::VirtualCard(CardImage image) : m_image(std::move(image)) {
  if (m_image.atr.empty()) m_image.atr = defaultAtr();
}

Bytes VirtualCard::atr() const { return m_image.atr; }

void VirtualCard::powerOn() {
  m_powered = true;
  m_selected = false;
  m_currentEf.reset();
  m_challenge.reset();
}

void VirtualCard::powerOff() {
  m_powered = false;
  m_selected = false;
  m_currentEf.reset();
  m_challenge.reset();
}

void VirtualCard::armTear(TearPoint point, std::optional<std::uint8_t> ins) {
  m_tear = point;
  m_tearIns = ins;
}

void VirtualCard::onCommit(std::function<void(const CardImage&)> callback) {
  m_onCommit = std::move(callback);
}

Bytes VirtualCard::process(ByteView command) {
  if (!m_powered) powerOn();  // a link that forgot the power-on still gets a fresh card
  m_tornNow = false;
  auto parsed = parseApdu(command);
  if (!parsed) return encodeResponse(sw::kWrongLength);
  const Apdu& apdu = *parsed;
  if (apdu.cla != profile::kClaPlain && apdu.cla != profile::kClaSm) {
    return encodeResponse(sw::kClaNotSupported);
  }
  const bool sm = apdu.cla == profile::kClaSm;
  if (sm && apdu.ins != profile::kInsUpdateRecord && apdu.ins != profile::kInsUpdateBinary) {
    return encodeResponse(sw::kClaNotSupported);
  }
  Bytes response;
  switch (apdu.ins) {
    case profile::kInsSelect: return select(apdu);
    case profile::kInsReadBinary: return readBinary(apdu);
    case profile::kInsReadRecord: return readRecord(apdu);
    case profile::kInsGetChallenge: return getChallenge(apdu);
    case profile::kInsInternalAuthenticate: return internalAuthenticate(apdu);
    case profile::kInsUpdateBinary:
    case profile::kInsUpdateRecord: {
      if (!m_selected) return encodeResponse(sw::kFileNotFound);
      Bytes plain = apdu.data;
      if (sm) {
        if (auto status = checkSm(apdu, plain)) return encodeResponse(*status);
      } else {
        // A plain command never uses a challenge, but it does end its single use.
        m_challenge.reset();
      }
      response = apdu.ins == profile::kInsUpdateRecord ? updateRecord(apdu, plain)
                                                       : updateBinary(apdu, plain);
      if (m_tornNow) {
        powerOff();
        return {};
      }
      return response;
    }
    default: return encodeResponse(sw::kInsNotSupported);
  }
}

Bytes VirtualCard::select(const Apdu& apdu) {
  m_challenge.reset();
  if (apdu.p1 == kSelectByName) {
    if (apdu.le && apdu.p2 == 0x0C) return encodeResponse(sw::kWrongLength);
    const ByteView aid(profile::kAid);
    if (!std::equal(aid.begin(), aid.end(), apdu.data.begin(), apdu.data.end())) {
      m_selected = false;
      m_currentEf.reset();
      return encodeResponse(sw::kFileNotFound);
    }
    m_selected = true;
    m_currentEf.reset();
    if ((apdu.p2 & 0x0CU) == 0x0CU) return encodeResponse(sw::kOk);
    // FCI: 6F { 84 AID }
    Bytes fci{0x6F, static_cast<std::uint8_t>(2 + aid.size()), 0x84,
              static_cast<std::uint8_t>(aid.size())};
    fci.insert(fci.end(), aid.begin(), aid.end());
    return encodeResponse(fci, sw::kOk);
  }
  if (apdu.p1 == kSelectEfUnderDf || apdu.p1 == kSelectMfDfEf) {
    if (!m_selected) return encodeResponse(sw::kFileNotFound);
    if (apdu.data.size() != 2) return encodeResponse(sw::kWrongLength);
    const auto sfi = sfiForFid(static_cast<std::uint16_t>((apdu.data[0] << 8U) | apdu.data[1]));
    if (!sfi) return encodeResponse(sw::kFileNotFound);
    m_currentEf = *sfi;
    return encodeResponse(sw::kOk);
  }
  return encodeResponse(sw::kWrongP1P2);
}

Bytes* VirtualCard::binaryFile(std::uint8_t sfi) {
  switch (sfi) {
    case profile::kSfiId: return &m_image.id;
    case profile::kSfiReturn: return &m_image.meterReturn;
    case profile::kSfiParams: return &m_image.params;
    default: return nullptr;
  }
}

Bytes VirtualCard::readBinary(const Apdu& apdu) {
  if (!m_selected) return encodeResponse(sw::kFileNotFound);
  if (!apdu.data.empty() || !apdu.le) return encodeResponse(sw::kWrongLength);
  std::uint8_t sfi = 0;
  std::size_t offset = 0;
  if ((apdu.p1 & 0x80U) != 0) {
    if ((apdu.p1 & 0x60U) != 0) return encodeResponse(sw::kWrongP1P2);
    sfi = apdu.p1 & 0x1FU;
    offset = apdu.p2;
  } else {
    if (!m_currentEf) return encodeResponse(sw::kCommandNotAllowed);
    sfi = *m_currentEf;
    offset = (std::size_t{apdu.p1} << 8U) | apdu.p2;
  }
  if (sfi == profile::kSfiCredit) return encodeResponse(sw::kCommandNotAllowed);
  const Bytes* file = binaryFile(sfi);
  if (file == nullptr) return encodeResponse(sw::kFileNotFound);
  m_currentEf = sfi;
  if (offset > file->size()) return encodeResponse(sw::kWrongOffset);
  const std::size_t available = file->size() - offset;
  const std::size_t count = std::min<std::size_t>(available, *apdu.le);
  const ByteView data(file->data() + offset, count);
  // Le = 256 (00) asks for everything up to 256 bytes; a smaller explicit Le that runs past
  // the end is answered with what there is and the end-of-file warning.
  const std::uint16_t status =
      (count < *apdu.le && *apdu.le != 256) ? sw::kEndOfFile : sw::kOk;
  return encodeResponse(data, status);
}

Bytes VirtualCard::readRecord(const Apdu& apdu) {
  if (!m_selected) return encodeResponse(sw::kFileNotFound);
  if (!apdu.data.empty() || !apdu.le) return encodeResponse(sw::kWrongLength);
  const std::uint8_t sfiBits = apdu.p2 >> 3U;
  const std::uint8_t mode = apdu.p2 & 0x07U;
  std::uint8_t sfi = sfiBits;
  if (sfi == 0) {
    if (!m_currentEf) return encodeResponse(sw::kCommandNotAllowed);
    sfi = *m_currentEf;
  }
  if (sfi == 0x1F) return encodeResponse(sw::kWrongP1P2);
  if (sfi != profile::kSfiCredit) {
    return encodeResponse(binaryFile(sfi) != nullptr ? sw::kCommandNotAllowed
                                                     : sw::kFileNotFound);
  }
  if (mode != 0x04 && mode != 0x05) return encodeResponse(sw::kWrongP1P2);
  if (apdu.p1 == 0) return encodeResponse(sw::kWrongP1P2);  // no current record
  if (apdu.p1 > profile::kCreditRecords) return encodeResponse(sw::kRecordNotFound);
  m_currentEf = sfi;
  const std::size_t first = apdu.p1 - 1U;
  const std::size_t last = mode == 0x04 ? first + 1 : profile::kCreditRecords;
  Bytes data;
  for (std::size_t i = first; i < last; ++i) {
    data.insert(data.end(), m_image.credit[i].begin(), m_image.credit[i].end());
  }
  if (data.size() > *apdu.le) {
    return encodeResponse(static_cast<std::uint16_t>(0x6C00U | (data.size() & 0xFFU)));
  }
  return encodeResponse(data, sw::kOk);
}

std::optional<std::uint16_t> VirtualCard::checkSm(const Apdu& apdu, Bytes& plain) {
  // The challenge is single-use: any SM command consumes it, right or wrong.
  const std::optional<Bytes> challenge = std::move(m_challenge);
  m_challenge.reset();
  if (apdu.data.size() <= profile::kSmMacSize) return sw::kSmDataIncorrect;
  if (!challenge) return sw::kSecurityStatus;
  plain.assign(apdu.data.begin(),
               apdu.data.end() - static_cast<std::ptrdiff_t>(profile::kSmMacSize));
  const ByteView received(apdu.data.data() + plain.size(), profile::kSmMacSize);
  const auto expected =
      smMac(m_image.smKey, *challenge, apdu.cla, apdu.ins, apdu.p1, apdu.p2, plain);
  if (!constantTimeEqual(expected, received)) return sw::kSmDataIncorrect;
  return std::nullopt;
}

bool VirtualCard::commit(const std::function<void()>& change) {
  const bool fires = m_tear != TearPoint::None && (!m_tearIns || *m_tearIns == m_pendingIns);
  const TearPoint point = m_tear;
  if (fires) {
    m_tear = TearPoint::None;
    m_tearIns.reset();
    if (point == TearPoint::BeforeCommit) {
      m_tornNow = true;
      return false;
    }
  }
  change();
  if (m_onCommit) m_onCommit(m_image);
  if (fires) m_tornNow = true;  // AfterCommit: stored, but no answer reaches the reader
  return true;
}

Bytes VirtualCard::updateBinary(const Apdu& apdu, ByteView plain) {
  if ((apdu.p1 & 0x80U) == 0 || (apdu.p1 & 0x60U) != 0) {
    return encodeResponse(sw::kWrongP1P2);
  }
  const std::uint8_t sfi = apdu.p1 & 0x1FU;
  const bool sm = apdu.cla == profile::kClaSm;
  if (sfi == profile::kSfiCredit) return encodeResponse(sw::kCommandNotAllowed);
  Bytes* file = binaryFile(sfi);
  if (file == nullptr) return encodeResponse(sw::kFileNotFound);
  // ID is read-only after issuance; PARAMS needs secure messaging; RETURN is the meter's.
  if (sfi == profile::kSfiId) return encodeResponse(sw::kSecurityStatus);
  if (sfi == profile::kSfiParams && !sm) return encodeResponse(sw::kSecurityStatus);
  const std::size_t offset = apdu.p2;
  if (offset > file->size()) return encodeResponse(sw::kWrongOffset);
  if (plain.empty() || plain.size() > file->size() - offset) {
    return encodeResponse(sw::kWrongLength);
  }
  if (sfi == profile::kSfiParams && (offset != 0 || !decodeParams(plain))) {
    return encodeResponse(sw::kWrongData);
  }
  m_pendingIns = apdu.ins;
  commit([&] { std::copy(plain.begin(), plain.end(), file->begin() + static_cast<std::ptrdiff_t>(offset)); });
  m_currentEf = sfi;
  return encodeResponse(sw::kOk);
}

Bytes VirtualCard::updateRecord(const Apdu& apdu, ByteView plain) {
  const std::uint8_t sfi = apdu.p2 >> 3U;
  if ((apdu.p2 & 0x07U) != 0x04) return encodeResponse(sw::kWrongP1P2);
  if (sfi != profile::kSfiCredit) {
    return encodeResponse(binaryFile(sfi) != nullptr ? sw::kCommandNotAllowed
                                                     : sw::kFileNotFound);
  }
  if (apdu.p1 == 0) return encodeResponse(sw::kWrongP1P2);
  if (apdu.p1 > profile::kCreditRecords) return encodeResponse(sw::kRecordNotFound);
  if (plain.size() != profile::kTokenSize) return encodeResponse(sw::kWrongLength);
  Bytes& target = m_image.credit[apdu.p1 - 1U];
  m_pendingIns = apdu.ins;
  m_currentEf = sfi;
  if (allZero(plain)) {
    // Freeing a record (the meter, after loading its token) needs no secure messaging:
    // it can destroy a holder's unloaded credit but never create any.
    commit([&] { target.assign(profile::kTokenSize, 0); });
    return encodeResponse(sw::kOk);
  }
  if (apdu.cla != profile::kClaSm) return encodeResponse(sw::kSecurityStatus);
  auto token = decodeToken(plain);
  if (!token) return encodeResponse(sw::kWrongData);
  for (const Bytes& record : m_image.credit) {
    if (std::equal(record.begin(), record.end(), plain.begin(), plain.end())) {
      // The same token again (a retry after a tear): kept once, nothing changes.
      return encodeResponse(sw::kOk);
    }
    auto existing = decodeTokenRecord(record);
    if (existing && existing->has_value() && (*existing)->meterNumber == token->meterNumber &&
        (*existing)->sequence == token->sequence) {
      return encodeResponse(sw::kWrongData);  // a different token under a used sequence
    }
  }
  if (!allZero(target)) return encodeResponse(sw::kNotEnoughMemory);
  commit([&] { target.assign(plain.begin(), plain.end()); });
  return encodeResponse(sw::kOk);
}

Bytes VirtualCard::getChallenge(const Apdu& apdu) {
  if (!m_selected) return encodeResponse(sw::kConditionsNotSatisfied);
  if (apdu.p1 != 0 || apdu.p2 != 0) return encodeResponse(sw::kWrongP1P2);
  if (!apdu.data.empty() || !apdu.le || *apdu.le != profile::kChallengeSize) {
    return encodeResponse(sw::kWrongLength);
  }
  m_challenge = randomBytes(profile::kChallengeSize);
  return encodeResponse(*m_challenge, sw::kOk);
}

Bytes VirtualCard::internalAuthenticate(const Apdu& apdu) {
  if (!m_selected) return encodeResponse(sw::kConditionsNotSatisfied);
  Bytes message;
  if (apdu.p1 == profile::kAuthCard && apdu.p2 == 0) {
    if (apdu.data.size() < profile::kAuthChallengeMin ||
        apdu.data.size() > profile::kAuthChallengeMax || !apdu.le) {
      return encodeResponse(sw::kWrongLength);
    }
  } else if (apdu.p1 == profile::kAuthDeliveryProof) {
    // The proof of a CREDIT record: signed as the card holds it, whatever the kiosk thinks.
    if (apdu.p2 == 0 || apdu.p2 > profile::kCreditRecords) return encodeResponse(sw::kRecordNotFound);
    if (apdu.data.size() != profile::kDeliveryNonceSize || !apdu.le) {
      return encodeResponse(sw::kWrongLength);
    }
  } else {
    return encodeResponse(sw::kWrongP1P2);
  }
  const SigningKey* signer = signingKey();
  if (signer == nullptr) return encodeResponse(sw::kConditionsNotSatisfied);
  if (apdu.p1 == profile::kAuthCard) {
    message = internalAuthMessage(signer->cardNumber, apdu.data);
  } else {
    message = deliveryProofMessage(signer->cardNumber, apdu.p2, m_image.credit[apdu.p2 - 1U], apdu.data);
  }
  auto signature = signer->key.sign(message);
  if (!signature) return encodeResponse(sw::kUnknown);
  return encodeResponse(*signature, sw::kOk);
}

const VirtualCard::SigningKey* VirtualCard::signingKey() {
  // Importing the key checks that the scalar matches the public point (a full scalar
  // multiplication): done once, at the first INTERNAL AUTHENTICATE (not at construction,
  // which the fuzzer repeats for every input), as a chip's key is set once. The image stays
  // editable (tests and tools change it in place), so the bytes it was built from decide
  // whether it still applies.
  if (m_signingKey && m_signingKey->id == m_image.id &&
      m_signingKey->scalar == m_image.cardPrivateKey) {
    return &*m_signingKey;
  }
  m_signingKey.reset();
  auto id = decodeIdFile(m_image.id);
  if (!id) return nullptr;
  auto key = EcKey::fromPrivateScalar(m_image.cardPrivateKey, id->cardPublicKey);
  if (!key) return nullptr;
  m_signingKey = SigningKey{m_image.id, m_image.cardPrivateKey, id->cardNumber, std::move(*key)};
  return &*m_signingKey;
}

}  // namespace kiosk::card
