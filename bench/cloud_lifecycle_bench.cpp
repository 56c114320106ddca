// Full order lifecycles per second through kiosk-cloud (create, pay through the simulated
// provider's page and signed webhook, fetch the write script, confirm delivery) with 1, 16
// and 128 concurrent simulated kiosks, on SQLite and on PostgreSQL, against `pgbench -N` on
// the same PostgreSQL server in the same run as the baseline.
//
// With --compare-binary, every level also runs against another kiosk-cloud build (an older
// commit's, say) in the same run, and the ratio of the two is printed.
//
//   cloud_lifecycle_bench [--seconds N] [--levels 1,16,128] [--backends sqlite,postgresql]
//                         [--db-pool N] [--threads N]   (kiosk-cloud's settings; by default
//                         its own handler threads and the pool below)
//                         [--compare-binary PATH]

#include "bench/lifecycle_load.hpp"
#include "tests/support/cloud_fixture.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <thread>

using namespace kiosk::cloud;
using namespace kiosk::cloud::test;
using namespace kiosk::bench;
using nlohmann::json;

namespace {

std::string pgbenchCommand(const PgServer& pg) {
  return "runuser -u postgres -- /usr/lib/postgresql/15/bin/pgbench -h " + pg.socketDir() + " -p " +
         std::to_string(pg.port()) + " -U postgres ";
}

// pgbench's tables at scale 10, in a database of their own; returns its name.
std::string pgbenchInit(const PgServer& pg) {
  const std::string db = pg.createDatabaseNamed("pgbench");
  if (std::system((pgbenchCommand(pg) + "-i -q -s 10 " + db + " >/dev/null 2>&1").c_str()) != 0) {
    throw std::runtime_error("pgbench -i failed");
  }
  return db;
}

double pgbenchTps(const PgServer& pg, const std::string& db, int clients, int seconds) {
  const std::string base = pgbenchCommand(pg);
  const std::string run = base + "-N -c " + std::to_string(clients) + " -j " + std::to_string(std::min(clients, 2)) + " -T " + std::to_string(seconds) +
                          " " + db + " 2>/dev/null";
  FILE* pipe = popen(run.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("cannot run pgbench");
  std::string output;
  char line[512];
  while (fgets(line, sizeof line, pipe) != nullptr) output += line;
  pclose(pipe);
  const auto at = output.find("tps = ");
  if (at == std::string::npos) throw std::runtime_error("pgbench printed no tps: " + output);
  return std::atof(output.c_str() + at + 6);
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 5;
  std::vector<int> levels{1, 16, 128};
  std::vector<Backend> backends{Backend::Sqlite, Backend::Postgres};
  int dbPool = 0;
  int threads = 0;
  std::string compareBinary;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--seconds" && i + 1 < argc) seconds = std::atof(argv[++i]);
    if (arg == "--levels" && i + 1 < argc) {
      levels.clear();
      std::stringstream list(argv[++i]);
      std::string item;
      while (std::getline(list, item, ',')) levels.push_back(std::stoi(item));
    }
    if (arg == "--db-pool" && i + 1 < argc) dbPool = std::atoi(argv[++i]);
    if (arg == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
    if (arg == "--compare-binary" && i + 1 < argc) compareBinary = argv[++i];
    if (arg == "--backends" && i + 1 < argc) {
      backends.clear();
      std::stringstream list(argv[++i]);
      std::string item;
      while (std::getline(list, item, ',')) {
        backends.push_back(item == "sqlite" ? Backend::Sqlite : Backend::Postgres);
      }
    }
  }
  const int most = *std::max_element(levels.begin(), levels.end());
  // PostgreSQL's rule of thumb for a pool: twice the server's cores plus one. More
  // connections only add backends competing for the same cores (measured: 128 kiosks ran
  // slower with 32 than with 5).
  if (dbPool <= 0) dbPool = 2 * static_cast<int>(std::max(2U, std::thread::hardware_concurrency())) + 1;
  try {
    auto& pg = PgServer::instance();
    std::printf("pgbench -N baseline on the same PostgreSQL server (16 clients, %d s)...\n",
                static_cast<int>(seconds * 2));
    const std::string pgbenchDb = pgbenchInit(pg);
    const double tps = pgbenchTps(pg, pgbenchDb, 16, static_cast<int>(seconds * 2));
    std::printf("pgbench -N: %.0f TPS\n", tps);
    // The same figure with as many clients as each level has kiosks: what the server does for
    // the simplest write transaction under that level's concurrency. Shown beside the target's
    // ratio, which takes the 16-client figure (the server's best) as the baseline.
    std::map<int, double> tpsAt;
    for (const int level : levels) {
      tpsAt[level] = level == 16 ? tps : pgbenchTps(pg, pgbenchDb, level, static_cast<int>(seconds * 2));
      std::printf("pgbench -N with %d clients: %.0f TPS\n", level, tpsAt[level]);
    }
    std::printf("\n");

    bool allMet = true;
    for (const auto backend : backends) {
      // This build, then (with --compare-binary) the other, each on a fresh database.
      std::vector<std::pair<std::string, std::string>> builds{{"this build", ""}};
      if (!compareBinary.empty()) builds.emplace_back(compareBinary, compareBinary);
      std::map<int, double> thisBuild;
      for (const auto& [label, binary] : builds) {
        CloudProcess::Options options;
        options.binary = binary;
        if (backend == Backend::Postgres) options.database = pg.createDatabase();
        json config{{"db_pool", dbPool}, {"log_level", "warn"}};
        if (binary.empty()) {
          // Every kiosk, phone and webhook connection comes from loopback here: the
          // per-address cap is raised above their number.
          config["max_connections_per_address"] = 4 * most + 64;
          if (threads > 0) config["threads"] = threads;
        } else {
          // Builds before the event-driven HTTP layer (cpp-httplib) give each open connection
          // a thread: as many as the kiosk, phone and webhook connections, or they stall.
          config["threads"] = 3 * most + 64;
        }
        options.extraJson = config.dump();
        CloudProcess cloud(options);
        cloud.seedDemo();
        const auto kiosks = provisionKiosks(cloud.port(), most);
        std::printf("%s, %s\n", backendName(backend).c_str(), label.c_str());
        std::printf("  kiosks  lifecycles/s  ratio-to-pgbench  (same clients)  request p50/p99 ms  lifecycle p50/p99 ms  failures%s\n",
                    binary.empty() ? "" : "  this build / this one");
        for (const int level : levels) {
          const auto r = runLifecycles(cloud.port(), kiosks, level, seconds);
          const double ratio = r.lifecyclesPerSecond / tps;
          std::printf("  %6d  %12.1f  %16.3f  %14.3f  %8.1f / %-8.1f  %9.1f / %-9.1f  %d", r.kiosks,
                      r.lifecyclesPerSecond, ratio, r.lifecyclesPerSecond / tpsAt[level], r.requestP50,
                      r.requestP99, r.lifecycleP50, r.lifecycleP99, r.failures);
          if (binary.empty()) {
            thisBuild[level] = r.lifecyclesPerSecond;
          } else {
            std::printf("  %.2fx", thisBuild[level] / r.lifecyclesPerSecond);
          }
          std::printf("\n");
          if (level == 128 && binary.empty()) {
            const bool met = ratio >= 0.2 && r.requestP99 < 50.0 && r.failures == 0;
            std::printf("          target at 128 kiosks (ratio >= 0.2, request p99 < 50 ms): %s\n",
                        met ? "met" : "NOT met");
            allMet = allMet && met;
          }
        }
        std::printf("\n");
      }
    }
    return allMet ? 0 : 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cloud_lifecycle_bench: %s\n", e.what());
    return 1;
  }
}
