#pragma once
// The HTML pages kiosk-cloud serves to residents' phones: the simulated provider's pay page,
// the receipt behind the done screen's QR code, and the short page that answers a press.

#include "cloud/store_types.hpp"

#include <string>

namespace kiosk::cloud {

// The HTML page for the order (amount, masked account, Pay and Decline).
std::string payPage(const Order& order, const std::string& maskedAccount,
                    const std::string& formAction);
std::string resultPage(const std::string& title, const std::string& message);

// The receipt a resident opens from the QR code on the kiosk's done screen: order, masked
// account and card, amount, fees and credit, paid and delivered times (UTC).
// Times in `zone` (IANA; empty: UTC, said so).
std::string receiptPage(const Order& order, const std::string& maskedAccount, const std::string& zone);

}  // namespace kiosk::cloud
