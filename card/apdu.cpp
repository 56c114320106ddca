#include "card/apdu.hpp"

namespace kiosk::card {

std::string_view statusWordName(std::uint16_t statusWord) {
  switch (statusWord) {
    case sw::kOk: return "9000 success";
    case sw::kEndOfFile: return "6282 end of file reached before Le bytes";
    case sw::kMemoryFailure: return "6581 memory failure";
    case sw::kWrongLength: return "6700 wrong length";
    case sw::kSecurityStatus: return "6982 security status not satisfied";
    case sw::kAuthBlocked: return "6983 authentication method blocked";
    case sw::kConditionsNotSatisfied: return "6985 conditions of use not satisfied";
    case sw::kCommandNotAllowed: return "6986 command not allowed (no current EF)";
    case sw::kSmDataIncorrect: return "6988 incorrect secure messaging data objects";
    case sw::kWrongData: return "6A80 incorrect parameters in the data field";
    case sw::kFunctionNotSupported: return "6A81 function not supported";
    case sw::kFileNotFound: return "6A82 file or application not found";
    case sw::kRecordNotFound: return "6A83 record not found";
    case sw::kNotEnoughMemory: return "6A84 not enough memory space in the file";
    case sw::kWrongP1P2: return "6A86 incorrect parameters P1-P2";
    case sw::kWrongOffset: return "6B00 wrong parameters (offset outside the EF)";
    case sw::kInsNotSupported: return "6D00 instruction code not supported";
    case sw::kClaNotSupported: return "6E00 class not supported";
    case sw::kUnknown: return "6F00 no precise diagnosis";
    default: break;
  }
  switch (statusWord >> 8U) {
    case 0x61: return "61xx more response data available (GET RESPONSE)";
    case 0x6C: return "6Cxx wrong Le (resend with the exact Le)";
    case 0x63: return "63xx warning (non-volatile memory changed)";
    case 0x62: return "62xx warning (non-volatile memory unchanged)";
    case 0x64: return "64xx execution error (memory unchanged)";
    case 0x65: return "65xx execution error (memory changed)";
    default: return "unknown status word";
  }
}

CardError statusWordError(std::uint16_t statusWord) {
  switch (statusWord) {
    case sw::kFileNotFound: return CardError::ForeignCard;
    case sw::kSecurityStatus:
    case sw::kAuthBlocked:
    case sw::kSmDataIncorrect:
    case sw::kConditionsNotSatisfied: return CardError::AccessDenied;
    case sw::kNotEnoughMemory: return CardError::Full;
    case sw::kWrongLength:
    case sw::kInsNotSupported:
    case sw::kClaNotSupported:
    case sw::kWrongP1P2: return CardError::Protocol;
    default: return CardError::StatusWord;
  }
}

Result<Bytes, CardError> encodeApdu(const Apdu& apdu) {
  if (apdu.data.size() > 255) return fail(CardError::Protocol);
  if (apdu.le && (*apdu.le == 0 || *apdu.le > 256)) return fail(CardError::Protocol);
  Bytes out{apdu.cla, apdu.ins, apdu.p1, apdu.p2};
  if (!apdu.data.empty()) {
    out.push_back(static_cast<std::uint8_t>(apdu.data.size()));
    out.insert(out.end(), apdu.data.begin(), apdu.data.end());
  }
  if (apdu.le) out.push_back(static_cast<std::uint8_t>(*apdu.le & 0xFFU));  // 256 -> 00
  return out;
}

Result<Apdu, CardError> parseApdu(ByteView command) {
  if (command.size() < 4) return fail(CardError::Protocol);
  Apdu apdu;
  apdu.cla = command[0];
  apdu.ins = command[1];
  apdu.p1 = command[2];
  apdu.p2 = command[3];
  const ByteView body = command.subspan(4);
  if (body.empty()) return apdu;  // case 1
  const auto decodeLe = [](std::uint8_t b) -> std::uint16_t {
    return b == 0 ? std::uint16_t{256} : std::uint16_t{b};
  };
  if (body.size() == 1) {  // case 2
    apdu.le = decodeLe(body[0]);
    return apdu;
  }
  // Lc = 00 would announce extended length, which the profile does not use.
  const std::size_t lc = body[0];
  if (lc == 0) return fail(CardError::Protocol);
  if (body.size() == 1 + lc) {  // case 3
    apdu.data.assign(body.begin() + 1, body.end());
    return apdu;
  }
  if (body.size() == 2 + lc) {  // case 4
    apdu.data.assign(body.begin() + 1, body.begin() + static_cast<std::ptrdiff_t>(1 + lc));
    apdu.le = decodeLe(body[1 + lc]);
    return apdu;
  }
  return fail(CardError::Protocol);
}

Result<Response, CardError> parseResponse(ByteView response) {
  if (response.size() < 2) return fail(CardError::Protocol);
  Response out;
  out.data.assign(response.begin(), response.end() - 2);
  out.sw = static_cast<std::uint16_t>((response[response.size() - 2] << 8U) |
                                      response[response.size() - 1]);
  return out;
}

Bytes encodeResponse(ByteView data, std::uint16_t statusWord) {
  Bytes out(data.begin(), data.end());
  out.push_back(static_cast<std::uint8_t>(statusWord >> 8U));
  out.push_back(static_cast<std::uint8_t>(statusWord & 0xFFU));
  return out;
}

Bytes encodeResponse(std::uint16_t statusWord) { return encodeResponse({}, statusWord); }

}  // namespace kiosk::card
