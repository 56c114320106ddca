#pragma once
// The payer's side of the simulated provider: pressing Pay or Decline on an order's pay page,
// as a resident's phone does after scanning the QR code. Headless scenarios and the simulation
// panel use it; a real provider's page is never driven this way.

#include <string>

namespace kiosk::sim {

// POSTs `action` ("pay" or "decline") to the pay page at `payUrl`. Empty on success, else what
// went wrong ("pay page unreachable: ...", "pay page answered HTTP 409").
std::string answerPayPage(const std::string& payUrl, const std::string& action,
                          const std::string& caFile = {});

}  // namespace kiosk::sim
