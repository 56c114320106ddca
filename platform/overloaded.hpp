#pragma once
// Overloaded{lambdas...}: one visitor from several lambdas, for std::visit over variants.

namespace kiosk {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace kiosk
