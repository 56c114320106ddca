#include "kiosk/sim/simulation.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "card/profile.hpp"
#include "card/virtual_card.hpp"
#include "card/virtual_meter.hpp"
#include "card/vpcd/vpcd_link.hpp"
#include "protocol/signing.hpp"
#include "cloud/embedded.hpp"
#include "cloud/seed.hpp"
#include "kiosk/sim/pay_page.hpp"
#include "kiosk/sim/network_link.hpp"

namespace kiosk::sim {

namespace {

constexpr const char* kBlockedCard = "8800000004";

// A card of some other system (a transit card, a bank card): it answers, but our application
// is not on it.
class ForeignCard final : public card::CardEmulator {
 public:
  kiosk::Bytes atr() const override { return {0x3B, 0x8F, 0x80, 0x01, 0x80, 0x4F, 0x0C, 0xA0}; }
  void powerOn() override {}
  void powerOff() override {}
  kiosk::Bytes process(kiosk::ByteView command) override {
    if (command.size() >= 2 && command[1] == 0xA4) return {0x6A, 0x82};  // file not found
    return {0x6D, 0x00};
  }
};

// The kiosk's reader in process: the channel of an inserted card stops working (as "removed")
// once that card is pulled, even if another card is in the reader by then.
class LocalSlot {
 public:
  class Channel final : public card::CardChannel {
   public:
    Channel(LocalSlot& slot, std::uint64_t generation) : m_slot(slot), m_generation(generation) {}
    Result<kiosk::Bytes, card::CardError> transmit(kiosk::ByteView command) override {
      std::lock_guard lock(m_slot.m_mutex);
      if (!m_slot.current(m_generation)) return fail(card::CardError::Removed);
      return m_slot.m_channel->transmit(command);
    }
    Result<void, card::CardError> beginTransaction() override {
      std::lock_guard lock(m_slot.m_mutex);
      if (!m_slot.current(m_generation)) return fail(card::CardError::Removed);
      return {};
    }
    Result<void, card::CardError> endTransaction() override { return {}; }
    kiosk::Bytes atr() const override {
      std::lock_guard lock(m_slot.m_mutex);
      return m_slot.current(m_generation) ? m_slot.m_card->atr() : kiosk::Bytes{};
    }

   private:
    LocalSlot& m_slot;
    std::uint64_t m_generation;
  };

  void insert(std::unique_ptr<card::CardEmulator> card) {
    std::lock_guard lock(m_mutex);
    m_card = std::move(card);
    m_channel = std::make_unique<card::LocalChannel>(*m_card);
    ++m_generation;
  }
  void pull() {
    std::lock_guard lock(m_mutex);
    m_channel.reset();
    m_card.reset();
    ++m_generation;
  }
  Result<std::unique_ptr<card::CardChannel>, card::CardError> connect() {
    std::lock_guard lock(m_mutex);
    if (!m_card) return fail(card::CardError::NoCard);
    return std::unique_ptr<card::CardChannel>(std::make_unique<Channel>(*this, m_generation));
  }

 private:
  bool current(std::uint64_t generation) const { return m_card && generation == m_generation; }

  mutable std::mutex m_mutex;
  std::unique_ptr<card::CardEmulator> m_card;
  std::unique_ptr<card::LocalChannel> m_channel;
  std::uint64_t m_generation = 0;
};

bool writePrivate(const std::filesystem::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::trunc);
  out << text;
  out.close();
  return out && ::chmod(file.c_str(), 0600) == 0;
}

std::string readTrimmed(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string text;
  std::getline(in, text);
  return text;
}

// A secret kept in the state folder across runs, made on first use.
std::string keptSecret(const std::filesystem::path& file) {
  std::string secret = std::filesystem::exists(file) ? readTrimmed(file) : std::string{};
  if (secret.size() < 16) {
    secret = protocol::randomHex(24);
    if (!writePrivate(file, secret + "\n")) throw std::runtime_error("cannot write " + file.string());
  }
  return secret;
}

}  // namespace

struct Simulation::Impl {
  SimulationOptions options;
  platform::OffsetClock clock;
  cloud::ServerConfig config;
  card::SymKey vendingKey{};
  std::unique_ptr<cloud::EmbeddedCloud> embedded;
  cloud::Store* store = nullptr;
  int port = 0;
  std::unique_ptr<NetworkLink> link;
  std::string kioskId;
  std::string kioskSecret;
  std::vector<DemoCard> cards;

  // The reader.
  mutable std::mutex mutex;
  app::Runtime* runtime = nullptr;
  std::shared_ptr<LocalSlot> slot = std::make_shared<LocalSlot>();
  std::unique_ptr<card::CardEmulator> served;  // on vpcd
  std::unique_ptr<card::VpcdLink> vpcd;
  std::optional<std::string> inserted;
  std::map<std::string, std::unique_ptr<card::VirtualMeter>> meters;  // by card key

  ~Impl() {
    if (vpcd) vpcd->pull();
    vpcd.reset();
    link.reset();
    embedded.reset();
  }

  const DemoCard* find(const std::string& key) const {
    for (const auto& c : cards) {
      if (c.key == key) return &c;
    }
    return nullptr;
  }

  void issueCards();
  void startCloud();
};

void Simulation::Impl::startCloud() {
  const auto& dir = options.stateDir;
  const auto keys = dir / "keys";
  std::filesystem::create_directories(keys);
  ::chmod(keys.c_str(), 0700);
  const auto vendingFile = keys / "vending.key";
  const auto smFile = keys / "sm-master.key";
  const auto issuerFile = keys / "issuer.key.pem";
  if (!std::filesystem::exists(vendingFile) || !std::filesystem::exists(smFile)) {
    if (!card::saveSymKey(vendingFile, card::randomKey()) || !card::saveSymKey(smFile, card::randomKey())) {
      throw std::runtime_error("cannot write the simulated vending keys in " + keys.string());
    }
    ::chmod(vendingFile.c_str(), 0600);
    ::chmod(smFile.c_str(), 0600);
  }
  if (!std::filesystem::exists(issuerFile)) {
    auto issuer = card::EcKey::generate();
    if (!issuer || !writePrivate(issuerFile, issuer->privatePem())) {
      throw std::runtime_error("cannot write the simulated issuer key " + issuerFile.string());
    }
  }
  auto vending = card::loadSymKey(vendingFile);
  if (!vending) throw std::runtime_error("unreadable vending key " + vendingFile.string());
  vendingKey = *vending;

  config.listen = "127.0.0.1";
  config.port = 0;
  config.database = "sqlite://" + std::filesystem::absolute(dir / "cloud.sqlite").string();
  config.dbPool = 4;
  config.threads = 16;
  config.vendingKeyFile = vendingFile.string();
  config.smMasterKeyFile = smFile.string();
  config.issuerKeyFile = issuerFile.string();
  config.adminToken = keptSecret(keys / "admin.token");
  config.providerSecret = keptSecret(keys / "provider.secret");
  config.sweepIntervalMs = 500;
  embedded = std::make_unique<cloud::EmbeddedCloud>(config, clock);
  config = embedded->config();
  store = &embedded->store();
  port = embedded->port();
  const std::int64_t now = clock.unixSeconds();
  auto seeded = cloud::seedDemo(*store, protocol::randomHex(24), now);
  if (!seeded) throw std::runtime_error("simulated cloud: seeding failed: " + seeded.error().message);
  kioskId = (*seeded)["kiosk_id"].get<std::string>();
  kioskSecret = (*seeded)["kiosk_secret"].get<std::string>();
  // A card the operator has blocked (reported lost): the kiosk must refuse it.
  auto blocked = store->createCard(cloud::NewCard{.number = kBlockedCard,
                                                  .kind = "resident",
                                                  .accountId = "ACC-1002",
                                                  .meterNumber = "41000002"},
                                   now);
  if (!blocked && blocked.error().error != cloud::CloudError::Conflict) {
    throw std::runtime_error("simulated cloud: " + blocked.error().message);
  }

  const std::string& local = embedded->localUrl();
  embedded->start();
  link = std::make_unique<NetworkLink>(port);
  spdlog::info("simulation: cloud on {} (state in {}), kiosk link on port {}", local,
               dir.string(), link->port());
}

void Simulation::Impl::issueCards() {
  const auto dir = options.stateDir / "cards";
  std::filesystem::create_directories(dir);
  const std::int64_t now = clock.unixSeconds();
  struct Plan {
    const char* key;
    const char* number;
    std::int64_t remaining;  // the meter's last RETURN, minor units; < 0: none yet
    std::uint64_t consumption;
    bool low;
  };
  const Plan plans[] = {
      {"normal", "8800000001", 8620, 1'523'400, false},
      {"low", "8800000002", 350, 2'210'050, true},
      {"water", "8800000003", -1, 0, false},
      {"blocked", kBlockedCard, -1, 0, false},
      {"staff", "8800009001", -1, 0, false},
  };
  for (const auto& plan : plans) {
    const auto file = dir / ("card-" + std::string(plan.number) + ".json");
    if (!std::filesystem::exists(file)) {
      auto issued = cloud::issueCardFiles(*store, config, plan.number, dir.string());
      if (!issued) throw std::runtime_error("issuing demo card " + std::string(plan.number) + ": " + issued.error().message);
      if (plan.remaining >= 0) {
        // The meter has been in use: its last reading is on the card.
        auto image = card::loadCardFile(file);
        if (!image) throw std::runtime_error("demo card " + file.string() + " unreadable");
        auto id = card::decodeIdFile(image->id);
        if (!id) throw std::runtime_error("demo card " + file.string() + " has no readable ID");
        card::ReturnRecord record;
        record.utility = id->utility;
        record.meterNumber = id->meterNumber;
        record.remainingCredit = plan.remaining;
        record.consumption = plan.consumption;
        record.timestamp = now - 2 * 3600;
        if (plan.low) {
          record.flags = card::return_flags::kLowBalance;
          record.alarmLevel = 2;
        }
        card::sealReturn(record, card::deriveReturnKey(vendingKey, id->meterNumber, record.keyVersion));
        image->meterReturn = card::encodeReturn(record);
        if (!card::saveCardFile(file, *image)) throw std::runtime_error("cannot write " + file.string());
      }
    }
    cards.push_back({plan.key, plan.number, file});
  }
  // Blocked in the store every start: the operator may have unblocked it in a previous run.
  (void)store->setStatus("cards", kBlockedCard, "BLOCKED", now);
  // A damaged chip: the ID file is garbled, so nothing on it can be trusted.
  const auto damaged = dir / "card-damaged.json";
  if (!std::filesystem::exists(damaged)) {
    auto image = card::loadCardFile(cards.front().file);
    if (!image) throw std::runtime_error("demo card unreadable");
    for (std::size_t i = 4; i < image->id.size(); i += 3) image->id[i] ^= 0x5A;
    if (!card::saveCardFile(damaged, *image)) throw std::runtime_error("cannot write " + damaged.string());
  }
  cards.push_back({"damaged", "", damaged});
  cards.push_back({"foreign", "", {}});
}

Simulation::Simulation(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}

Simulation::~Simulation() = default;

Result<std::unique_ptr<Simulation>, std::string> Simulation::create(SimulationOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  try {
    std::filesystem::create_directories(impl->options.stateDir);
    impl->startCloud();
    impl->issueCards();
  } catch (const std::exception& e) {
    return fail(std::string(e.what()));
  }
  return std::unique_ptr<Simulation>(new Simulation(std::move(impl)));
}

app::RuntimeOptions Simulation::runtimeOptions() const {
  const auto& impl = *m_impl;
  app::RuntimeOptions options;
  options.cloudUrl = "http://127.0.0.1:" + std::to_string(impl.link->port());
  options.kioskId = impl.kioskId;
  options.secret = impl.kioskSecret;
  options.journal = impl.options.stateDir / "kiosk-journal.sqlite";
  options.issuerKey = impl.config.issuerKeyFile;
  options.clock = &impl.clock;
  options.simulated = true;
  if (impl.options.pcsc) {
    options.reader = impl.options.reader;
  } else {
    options.connect = [slot = impl.slot] { return slot->connect(); };
  }
  return options;
}

void Simulation::attach(app::Runtime* runtime) {
  std::lock_guard lock(m_impl->mutex);
  m_impl->runtime = runtime;
}

const std::vector<DemoCard>& Simulation::cards() const { return m_impl->cards; }

std::string Simulation::insert(const std::string& key) {
  auto& impl = *m_impl;
  const DemoCard* demo = impl.find(key);
  if (demo == nullptr) return "no demo card \"" + key + "\"";
  pull();
  std::unique_ptr<card::CardEmulator> emulator;
  if (demo->file.empty()) {
    emulator = std::make_unique<ForeignCard>();
  } else {
    auto image = card::loadCardFile(demo->file);
    if (!image) return "cannot load card file " + demo->file.string();
    auto virtualCard = std::make_unique<card::VirtualCard>(std::move(*image));
    virtualCard->onCommit([file = demo->file](const card::CardImage& committed) {
      if (!card::saveCardFile(file, committed)) spdlog::error("simulation: cannot save {}", file.string());
    });
    emulator = std::move(virtualCard);
  }
  std::unique_lock lock(impl.mutex);
  impl.inserted = key;
  if (impl.options.pcsc) {
    impl.served = std::move(emulator);
    impl.vpcd = std::make_unique<card::VpcdLink>(
        *impl.served, card::VpcdLink::Options{impl.options.vpcdHost, impl.options.vpcdPort});
    impl.vpcd->insert();
    lock.unlock();
    if (!impl.vpcd->waitConnected(std::chrono::seconds(10))) {
      return "vpcd at " + impl.options.vpcdHost + ":" + std::to_string(impl.options.vpcdPort) +
             " did not take the card (is pcscd running with vpcd?)";
    }
    return {};
  }
  impl.slot->insert(std::move(emulator));
  app::Runtime* runtime = impl.runtime;
  lock.unlock();
  if (runtime != nullptr) runtime->cardInserted();
  return {};
}

void Simulation::pull() {
  auto& impl = *m_impl;
  std::unique_lock lock(impl.mutex);
  if (!impl.inserted) return;
  impl.inserted.reset();
  if (impl.options.pcsc) {
    if (impl.vpcd) impl.vpcd->pull();
    impl.vpcd.reset();
    impl.served.reset();
    return;
  }
  impl.slot->pull();
  app::Runtime* runtime = impl.runtime;
  lock.unlock();
  if (runtime != nullptr) runtime->cardRemoved();
}

std::optional<std::string> Simulation::inserted() const {
  std::lock_guard lock(m_impl->mutex);
  return m_impl->inserted;
}

std::string Simulation::answer(const std::string& payUrl, bool pay) const {
  // The phone is on the resident's own mobile network: the kiosk's link being down does not
  // stop the payment.
  return answerPayPage(payUrl, pay ? "pay" : "decline");
}

void Simulation::setNetworkUp(bool up) {
  m_impl->link->setDown(!up);
  spdlog::info("simulation: network {}", up ? "restored" : "cut");
}

bool Simulation::networkUp() const { return !m_impl->link->down(); }

void Simulation::advance(std::chrono::seconds by) {
  m_impl->clock.advance(by);
  spdlog::info("simulation: time moved {} s forward (now {} s ahead)", by.count(),
               m_impl->clock.offset().count());
}

std::chrono::seconds Simulation::timeOffset() const { return m_impl->clock.offset(); }

const platform::Clock& Simulation::clock() const { return m_impl->clock; }

Result<MeterReport, std::string> Simulation::useInMeter(const std::string& key, int days) {
  auto& impl = *m_impl;
  const DemoCard* demo = impl.find(key);
  if (demo == nullptr || demo->file.empty() || key == "damaged" || key == "staff") {
    return fail("the \"" + key + "\" card has no meter");
  }
  if (inserted() == key) pull();
  auto image = card::loadCardFile(demo->file);
  if (!image) return fail("cannot load card file " + demo->file.string());
  auto id = card::decodeIdFile(image->id);
  if (!id) return fail(std::string("the card's ID file is unreadable"));
  card::VirtualCard chip(std::move(*image));
  std::lock_guard lock(impl.mutex);
  auto& meter = impl.meters[key];
  if (!meter) {
    meter = std::make_unique<card::VirtualMeter>(
        card::MeterConfig::fromVendingKey(impl.vendingKey, id->meterNumber, id->utility),
        impl.clock.unixSeconds());
    // The meter on the wall carries on from what it last wrote on this card.
    if (auto last = card::decodeReturnFile(chip.image().meterReturn); last && last->has_value()) {
      (void)meter->resume(**last);
    }
  }
  auto visit = meter->insertCard(chip);
  if (!visit) return fail("the meter could not use the card: " + std::string(card::describe(visit.error())));
  MeterReport report;
  for (const auto& token : visit->tokens) {
    if (token.verdict == card::TokenVerdict::Loaded) ++report.tokensLoaded;
  }
  report.loadedMinor = visit->loadedAmount;
  // A household's day: about 8 kWh of electricity or 0.4 m3 of water.
  const std::uint64_t perHour = id->utility == card::Utility::Water ? 17 : 333;  // Wh, litres
  if (days > 0) {
    meter->run(static_cast<std::int64_t>(days) * 86'400, perHour);
    impl.clock.advance(std::chrono::hours(24 * days));
  }
  if (auto again = meter->insertCard(chip); !again) {
    return fail("the meter could not write its reading: " + std::string(card::describe(again.error())));
  }
  if (!card::saveCardFile(demo->file, chip.image())) return fail("cannot save " + demo->file.string());
  report.remainingMinor = meter->state().credit;
  report.consumptionMilli = meter->state().consumption;
  report.cutOff = meter->state().cutOff;
  spdlog::info("simulation: meter of card {} loaded {} token(s), {} day(s) used, {} left",
               demo->number, report.tokensLoaded, days, report.remainingMinor);
  return report;
}

int Simulation::cloudPort() const { return m_impl->port; }

std::string Simulation::kioskId() const { return m_impl->kioskId; }

}  // namespace kiosk::sim
