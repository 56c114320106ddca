#include "kiosk/sim/sim_panel.hpp"

#include <imgui.h>

#include <chrono>
#include <string>

namespace kiosk::ui {

sim::SimIntent drawSimulationPanel(Ui& ui, const sim::SimPanelView& view) {
  using Kind = sim::SimIntent::Kind;
  sim::SimIntent intent;
  const float u = ui.unit();
  ImGui::PushFont(ui.fonts.small);
  // Bottom left, above the footer, where the screens keep the least.
  ImGui::SetNextWindowPos(ImVec2(u, ui.size.y * 0.91F), ImGuiCond_FirstUseEver, ImVec2(0.F, 1.F));
  ImGui::SetNextWindowSize(ImVec2(ui.size.x * 0.62F, 0), ImGuiCond_FirstUseEver);
  ImGui::SetNextWindowBgAlpha(0.92F);
  if (ImGui::Begin("Simulation", nullptr, ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_AlwaysAutoResize)) {
    ImGui::TextUnformatted("Card:");
    for (const auto& card : view.cards) {
      ImGui::SameLine();
      const bool in = view.inserted == card;
      if (in) ImGui::PushStyleColor(ImGuiCol_Button, IM_COL32(40, 140, 70, 255));
      if (ImGui::Button(card.c_str())) {
        intent.kind = Kind::Insert;
        intent.key = card;
      }
      if (in) ImGui::PopStyleColor();
    }
    ImGui::SameLine();
    if (ImGui::Button("pull")) intent.kind = Kind::Pull;
    ImGui::TextUnformatted("Order:");
    ImGui::BeginDisabled(!view.paying);
    ImGui::SameLine();
    if (ImGui::Button("pay")) intent.kind = Kind::Pay;
    ImGui::SameLine();
    if (ImGui::Button("decline")) intent.kind = Kind::Decline;
    ImGui::SameLine();
    if (ImGui::Button("open pay page")) intent.kind = Kind::OpenPayPage;
    ImGui::EndDisabled();
    bool up = view.networkUp;
    if (ImGui::Checkbox("network", &up)) {
      intent.kind = Kind::SetNetwork;
      intent.up = up;
    }
    ImGui::SameLine();
    ImGui::Text("  time +%lld min", static_cast<long long>(view.minutesAhead));
    ImGui::SameLine();
    if (ImGui::Button("+10 min")) {
      intent.kind = Kind::Advance;
      intent.by = std::chrono::minutes(10);
    }
    ImGui::SameLine();
    if (ImGui::Button("+1 day")) {
      intent.kind = Kind::Advance;
      intent.by = std::chrono::hours(24);
    }
    ImGui::TextUnformatted("Meter (1 day):");
    for (const char* key : {"normal", "low", "water"}) {
      ImGui::SameLine();
      if (ImGui::Button((std::string(key) + "##meter").c_str())) {
        intent.kind = Kind::UseMeter;
        intent.key = key;
      }
    }
    if (!view.status.empty()) ImGui::TextWrapped("%s", view.status.c_str());
  }
  ImGui::End();
  ImGui::PopFont();
  return intent;
}

}  // namespace kiosk::ui
