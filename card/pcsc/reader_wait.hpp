#pragma once
// Waits until a PC/SC reader shows a card, or shows none: what a kiosk does before it takes
// the next card after a restart, so that it never mistakes the old card for the new one.

#include <chrono>
#include <string>

#include "card/error.hpp"
#include "platform/result.hpp"

namespace kiosk::card {

enum class Presence { Present, Empty };

// Returns once pcscd reports `reader` with a card (Present) or without one (Empty). Timeout
// when `timeout` passes first; NoService, NoReader... when pcscd cannot be asked.
Result<void, CardError> waitForCard(const std::string& reader, Presence want,
                                    std::chrono::milliseconds timeout);

}  // namespace kiosk::card
