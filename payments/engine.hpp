#pragma once
// The kiosk's transaction engine: reads and authenticates cards, looks up accounts, takes a
// top-up from order to payment to the token verified on the card and confirmed to the cloud,
// writes paid credit that was waiting for the card, and keeps the journal, the outbox and the
// kiosk config in step with the cloud. Commands return at once and run on worker threads;
// results come back as Notices through the sink. After a crash start() resumes every
// unfinished transaction from the journal.
// One class, its methods in files by feature: engine.cpp (lifecycle and status), engine_card.cpp
// (card reads and the account), engine_order.cpp (orders and the payment wait), engine_write.cpp
// (writing credit to the card), engine_sync.cpp (outbox, config, unfinished transactions).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "payments/card_port.hpp"
#include "payments/cloud_client.hpp"
#include "payments/journal.hpp"
#include "payments/notice.hpp"
#include "payments/write_timer.hpp"
#include "platform/clock.hpp"
#include "platform/worker_thread.hpp"

namespace kiosk::payments {

struct EngineOptions {
  std::chrono::seconds longPoll{20};        // each wait for the payment
  std::chrono::seconds paymentGrace{20};    // past the order's expiry, keep asking this long
  std::chrono::milliseconds retryInitial{200};
  std::chrono::milliseconds retryMax{4000};
  std::chrono::seconds writeWindow{20};     // retrying the cloud while the card waits in the reader
  int createAttempts = 3;                   // creating an order when the network stumbles
  std::chrono::milliseconds syncInterval{5000};
  std::chrono::seconds configInterval{300};
  std::chrono::seconds recheckInterval{30};  // asking about paid orders whose card is away
  std::size_t batchSize = 100;
  std::vector<std::int64_t> presets{2000, 5000, 10000, 20000};
};

struct EngineStatus {
  bool online = false;          // the last call to the cloud got an answer
  bool journalOk = true;
  std::int64_t outboxPending = 0;
  std::size_t openTransactions = 0;
  bool configLoaded = false;
  std::string configEtag;       // version of the config in use (empty: none yet)
  std::int64_t lastSync = 0;    // Unix seconds of the last cycle that emptied the outbox, 0: none
};

class Engine {
 public:
  using Sink = std::function<void(const Notice&)>;

  Engine(Journal& journal, CloudClient& cloud, CardPort& card, const platform::Clock& clock,
         EngineOptions options, Sink sink);
  ~Engine();  // stop()
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Loads the config kept for offline use, resumes unfinished transactions, starts syncing.
  void start();
  void stop();

  // ---- commands (the flow's)
  void readCard();
  void lookupAccount(const std::string& cardNumber);
  void createOrder(const std::string& cardNumber, std::int64_t amount);
  void cancelOrder(const std::string& orderId);
  // Delivers the order's credit to the card in the reader, then any other paid credit waiting
  // for the same card. After a tear: confirms when the token is on the card, else rewrites.
  void writeToken(const std::string& orderId, const std::string& cardNumber);

  // ---- the reader
  void cardInserted();
  void cardRemoved();

  // ---- staff and support
  void staffAction(const std::string& action, const std::string& detailJson);
  void syncNow();
  // Maintenance: asks the cloud now about every unfinished transaction (paid orders whose card
  // is away included) and settles each as far as the answers allow, in a sync cycle.
  void recheckUnfinished();
  // Runs sync cycles now (outbox, config, unfinished transactions) until one that started
  // after this call has uploaded the whole outbox; false if none did within the timeout
  // (the cloud unreachable, or the outbox still growing).
  bool syncAndWait(std::chrono::milliseconds timeout);
  // Waits until the card, order and cloud workers are idle (a payment wait included);
  // false on timeout.
  bool waitIdle(std::chrono::milliseconds timeout);
  EngineStatus status();
  std::optional<WriteTiming> lastWriteTiming() const;
  std::optional<KioskConfig> config() const;

 private:
  struct Waiting;
  struct PaidCommit;
  enum class Delivered { Yes, Pulled, Failed };
  struct DeliverResult {
    Delivered outcome = Delivered::Failed;
    notice::Delivery delivery;
    std::string detail;
  };

  static platform::WorkerOptions dropOnStop(const char* name);
  void post(const Notice& notice);
  std::int64_t now() const { return m_clock.unixSeconds(); }
  bool journalOk(const JournalError& error, const char* what);
  void event(const std::string& type, const std::string& data);
  void noteCloud(bool reached);

  void doReadCard();
  void doLookup(const std::string& cardNumber);
  void doCreateOrder(const std::string& cardNumber, std::int64_t amount);
  void waitForPayment(TxRecord tx, Order order, std::shared_ptr<Waiting> waiting);
  // Ends the wait: records the order's final or paid state and tells the flow.
  bool settle(TxRecord& tx, const Order& order, bool notify);
  void doCancelDetached(const std::string& orderId);
  void doWrite(const std::string& orderId, const std::string& cardNumber);
  WriteTimer& writeTimer(const std::string& orderId);
  DeliverResult deliver(const std::string& orderId, const CardFacts& facts,
                        std::uint64_t generation, std::int64_t knownCredit);
  // Asks the card to sign the token's CREDIT record with the order's delivery nonce (an event
  // records a card that could not).
  Result<DeliveryProof, card::CardError> proveOnCard(const std::string& orderId,
                                                     const card::CreditToken& token,
                                                     const std::string& nonceHex);
  // POST /delivered with the proof the journal holds for the transaction; nothing is sent
  // while it holds none.
  Result<void, PayFailure> confirm(TxRecord& tx, const std::string& cardNumber,
                                   std::uint32_t sequence);

  void syncLoop();
  bool uploadOutbox();
  // Posts the meter readings the journal keeps, oldest first, until one cannot go now; a
  // reading the cloud refuses for good is dropped with an event. False while the cloud
  // cannot take them.
  bool uploadReadings();
  void refreshConfig(bool force);
  void resolveUnfinished(bool everything);
  void resolve(TxRecord tx, bool recheckPaid);
  // What the sync loop settled, for a resident who may still stand at the kiosk: how a closed
  // transaction ended (tellOutcome), and credit found paid for the card in the reader right now
  // (PendingCredit), so that it is written at once.
  void reportSettled(const TxRecord& tx);
  // How a transaction the sync loop closed ended (expired, declined, cancelled, refunded), for
  // a screen that could not confirm the payment when it was in front of the resident.
  void tellOutcome(const TxRecord& tx);
  std::string receiptUrl(const std::string& orderId) const;

  AccountInfo accountFrom(const CardFacts& facts, const CardSummary* summary) const;
  bool cardChanged(std::uint64_t generation) const;
  bool sleepFor(std::chrono::milliseconds delay, std::uint64_t generation);
  void activate(std::int64_t txId);
  void deactivate(std::int64_t txId);
  bool isActive(std::int64_t txId) const;

  Journal& m_journal;
  CloudClient& m_cloud;
  CardPort& m_card;
  const platform::Clock& m_clock;
  EngineOptions m_options;
  Sink m_sink;

  // Guards what two or more threads share (the reader's thread, the caller's, the card, order,
  // cloud and sync workers); each worker's own state is further below.
  mutable std::mutex m_mutex;
  std::mutex m_readingsMutex;  // one uploader of the kept readings at a time
  std::condition_variable m_changed;
  std::optional<CardFacts> m_facts;          // the authenticated card in the reader
  std::uint64_t m_generation = 0;            // counts insertions and removals
  std::map<std::string, std::int64_t> m_pendingCredit;  // cloud's pending list for the card
  std::optional<KioskConfig> m_config;
  std::string m_configEtag;
  bool m_configSaved = true;  // the journal holds m_config; else the next fetch is whole
  std::string m_configRefused;  // why the last config the cloud sent was not usable, if it was not
  std::chrono::steady_clock::time_point m_configAt{};
  bool m_online = false;
  bool m_journalOk = true;
  std::map<std::int64_t, int> m_active;  // transaction -> threads holding it
  std::shared_ptr<Waiting> m_waiting;
  // When the long poll answered PAID, for orders paid while this kiosk waited: handed from the
  // order worker to the card worker's write timer.
  std::map<std::string, std::chrono::steady_clock::time_point> m_paidAt;
  // Paid steps being committed while the write already reads the card's challenge and fetches
  // the script: the token's own step waits for them.
  std::map<std::string, std::shared_ptr<PaidCommit>> m_paidCommits;
  std::optional<WriteTiming> m_lastTiming;
  bool m_syncWake = false;
  bool m_recheckWanted = false;  // recheckUnfinished() asked; the sync loop takes it
  std::uint64_t m_syncCycles = 0;
  std::uint64_t m_lastCleanCycle = 0;  // the last cycle that left the outbox empty
  std::int64_t m_lastCleanAt = 0;      // its time, Unix seconds
  bool m_syncRunning = false;
  bool m_stopping = false;
  bool m_started = false;

  // The card worker's own (deliver runs there and nowhere else), so no lock: each write's timer,
  // kept across a pull and the reinsertion that resumes the write.
  std::map<std::string, WriteTimer> m_writeTimers;
  WriteTimer m_untimed;  // for a write whose payment this kiosk did not see
  // The sync worker's own: when it next asks the cloud about paid orders whose card is away.
  std::chrono::steady_clock::time_point m_recheckAt{};
  // Each runs its jobs one after another; a stop drops the queued ones (the journal keeps what
  // they were for, and start() resumes it).
  platform::WorkerThread m_cardWorker{dropOnStop("card")};
  platform::WorkerThread m_orderWorker{dropOnStop("order")};
  platform::WorkerThread m_cloudWorker{dropOnStop("cloud")};
  platform::WorkerThread m_syncWorker{dropOnStop("sync")};
};

}  // namespace kiosk::payments
