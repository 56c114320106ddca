#pragma once
// What a lobby screen, a receipt or a pay page may show of a resident: card numbers, names
// and account ids masked one way wherever they appear (kiosk screens, the cloud's pages).

#include <string>
#include <string_view>

namespace kiosk::protocol {

// "**** **** **** 1234": all but the last four characters hidden, in groups of four counted
// from the end ("** **** 0001" for ten digits). Four characters or fewer are shown as they are.
std::string maskCardNumber(std::string_view number);
// The first character whole (however many UTF-8 bytes it takes) and "**": "张**".
std::string maskName(std::string_view name);
// "ac*****01": the first two and last two characters; four or fewer are all hidden.
std::string maskAccountId(std::string_view id);

}  // namespace kiosk::protocol
