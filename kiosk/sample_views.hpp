#pragma once
// Sample contents for every screen: the screen gallery (`kiosk --screen NAME`) and the
// screenshot tests draw them without a card, a cloud or a flow behind.

#include "kiosk/views.hpp"

#include <string>
#include <vector>

namespace kiosk::app::samples {

AccountView account();
// A water card whose meter has never written to it.
AccountView waterAccount();
AmountView amount();
PayView pay();
WritingView writing();
DoneView done();
ErrorView error(const std::string& kind);  // "network", "declined", "foreign_card", ...
ReinsertView reinsert();
TakeCardView takeCard();
ServiceContact contact();  // the property's service phone and hours
OutOfServiceView outOfService();
PinView pin();
MaintenanceView maintenance();
ReaderTestView readerTest();  // an electricity card with two tokens waiting, low balance

// Every screen name the gallery knows, errors as "error:KIND".
std::vector<std::string> screenNames();

}  // namespace kiosk::app::samples
