#pragma once
// Secure-messaging writes and the "write script" the cloud hands to a kiosk: a list of
// ready APDUs (MAC already computed for the card's fresh challenge) and what each must
// answer. The kiosk relays them and never holds a key that could mint credit.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/bytes.hpp"
#include "card/crypto.hpp"
#include "card/error.hpp"
#include "card/profile.hpp"
#include "platform/result.hpp"

namespace kiosk::card {

// The SM MAC of a command: first 8 bytes of
// AES-CMAC(card SM key, challenge(8) || CLA INS P1 P2 || Lc(plain data) || plain data).
// CLA is the SM class (04) as sent.
std::array<std::uint8_t, 8> smMac(const SymKey& cardSmKey, ByteView challenge, std::uint8_t cla,
                                  std::uint8_t ins, std::uint8_t p1, std::uint8_t p2,
                                  ByteView plainData);
// A complete SM command: CLA 04, data = plain data || MAC. Fails (Protocol) when the
// challenge is not 8 bytes or the data is too long.
Result<Bytes, CardError> buildSmCommand(const SymKey& cardSmKey, ByteView challenge,
                                        std::uint8_t ins, std::uint8_t p1, std::uint8_t p2,
                                        ByteView plainData);

struct ScriptStep {
  Bytes apdu;
  std::uint16_t expectSw = 0x9000;
  // For the read-back: bytes that must appear in the response data at a multiple of the
  // record size (the token in one of the CREDIT records).
  std::optional<Bytes> expectRecord;

  bool operator==(const ScriptStep&) const = default;
};

struct WriteScript {
  std::vector<ScriptStep> steps;
  bool operator==(const WriteScript&) const = default;
};

// The token write, for a challenge the kiosk obtained with GET CHALLENGE:
//   1. UPDATE RECORD (SM) of `record` in CREDIT with the token
//   2. READ RECORD all records of CREDIT, which must contain the token.
// With the GET CHALLENGE before it, a write is three APDUs. `record` is normally
// creditRecordFor(token.sequence).
Result<WriteScript, CardError> buildCreditWriteScript(const SymKey& smMaster,
                                                      std::uint64_t cardNumber,
                                                      ByteView cardChallenge,
                                                      const CreditToken& token,
                                                      std::uint8_t record);
// What a kiosk checks before it relays a credit write script, as it cannot check the MAC:
// the script is exactly the secure UPDATE RECORD of `token` into the record of its sequence,
// then the read-back of CREDIT that must show it, and nothing else. The error says what is
// wrong, for the log.
Result<void, std::string> checkCreditWriteScript(const WriteScript& script,
                                                 const CreditToken& token);
// A tariff update: UPDATE BINARY (SM) of PARAMS, then READ BINARY of PARAMS read back.
Result<WriteScript, CardError> buildParamsWriteScript(const SymKey& smMaster,
                                                      std::uint64_t cardNumber,
                                                      ByteView cardChallenge,
                                                      const Params& params);

// JSON form for the cloud API:
// {"version":1,"steps":[{"apdu":"HEX","expect_sw":"9000","expect_record":"HEX"}]}
std::string writeScriptToJson(const WriteScript& script);
Result<WriteScript, CardError> writeScriptFromJson(std::string_view json);

// Command APDUs of the profile, for readers, the meter and tests.
namespace commands {
Bytes selectAid();
Bytes getChallenge();
Bytes readBinary(std::uint8_t sfi, std::uint8_t offset = 0, std::uint16_t le = 256);
Bytes internalAuthenticate(ByteView challenge);
// INTERNAL AUTHENTICATE P1 = 01: the card signs CREDIT record `record` with `nonce`.
Bytes proveRecord(std::uint8_t record, ByteView nonce);
Bytes readRecord(std::uint8_t sfi, std::uint8_t record);
Bytes readAllRecords(std::uint8_t sfi);  // P1 = 1, P2 = SFI<<3 | 5
Bytes updateRecordPlain(std::uint8_t sfi, std::uint8_t record, ByteView data);
Bytes updateBinaryPlain(std::uint8_t sfi, std::uint8_t offset, ByteView data);
}  // namespace commands

}  // namespace kiosk::card
