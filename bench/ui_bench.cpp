// The kiosk's UI, the real `kiosk` binary under X (Xvfb when there is no DISPLAY), against
// baselines measured in the same run:
//  1. Start to first frame: from fork() to the "first frame presented" log line, kiosk on the
//     attract screen at 1080x1920 vs a bare SDL2 + OpenGL window that only clears (this same
//     program, --bare-window). Medians of several starts.
//  2. CPU of an idle kiosk on the attract screen over 30 s (utime + stime from /proc/PID/stat,
//     every thread), as a share of one core. Target: under 1%. Baselines over the same 30 s: the
//     bare window waiting for events, and `sleep`.
//  3. Peak RSS (VmHWM) of that kiosk, the CJK font loaded. Target: under 150 MB. Baseline: the
//     bare window's VmHWM (what SDL, Mesa and the X connection cost before the kiosk's share).
//  4. Frame time p95 of every screen of the gallery at 1080x1920 (`kiosk --frame-stats N`),
//     against the bare window's p95 for a frame that only clears.
//   ui_bench [--idle-seconds S] [--frames N] [--starts N]   exit 0 when the CPU and RSS
//   targets hold, 1 when one is missed, 2 when the run itself failed.

#include <SDL.h>
#include <SDL_opengl.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
constexpr double kCpuTargetPercent = 1.0;
constexpr double kRssTargetMb = 150.0;
constexpr const char* kSize = "1080x1920";
constexpr const char* kFirstFrameLine = "first frame presented";

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2.0;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double rank = std::ceil(p / 100.0 * static_cast<double>(values.size()));
  const auto index =
      static_cast<std::size_t>(std::clamp(rank, 1.0, static_cast<double>(values.size()))) - 1;
  return values[index];
}

double ratio(double a, double b) { return b > 0 ? a / b : 0.0; }

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "ui_bench: %s\n", what.c_str());
  std::exit(2);
}

// ---- the baseline: a bare SDL2 + OpenGL window, created as the kiosk creates its own

std::string framesJson(const std::string& screen, int width, int height,
                       const std::vector<double>& frameMs) {
  const nlohmann::json report = {{"screen", screen},
                                 {"width", width},
                                 {"height", height},
                                 {"frames", frameMs.size()},
                                 {"frame_ms", frameMs},
                                 {"p50_ms", percentile(frameMs, 50)},
                                 {"p95_ms", percentile(frameMs, 95)}};
  return report.dump();
}

// Opens a window of `size`, clears it and presents; with frames > 0 draws that many timed
// frames and prints them as JSON (the shape of `kiosk --frame-stats`), otherwise waits for
// events until it is told to quit (SIGTERM becomes SDL_QUIT).
int bareWindow(const std::string& size, int frames) {
  int width = 0;
  int height = 0;
  if (std::sscanf(size.c_str(), "%dx%d", &width, &height) != 2) return 2;
  if (SDL_Init(SDL_INIT_VIDEO | SDL_INIT_EVENTS) != 0) {
    std::fprintf(stderr, "bare window: %s\n", SDL_GetError());
    return 1;
  }
  SDL_GL_SetAttribute(SDL_GL_CONTEXT_FLAGS, 0);
  SDL_GL_SetAttribute(SDL_GL_CONTEXT_PROFILE_MASK, SDL_GL_CONTEXT_PROFILE_CORE);
  SDL_GL_SetAttribute(SDL_GL_CONTEXT_MAJOR_VERSION, 3);
  SDL_GL_SetAttribute(SDL_GL_CONTEXT_MINOR_VERSION, 0);
  SDL_GL_SetAttribute(SDL_GL_DOUBLEBUFFER, 1);
  SDL_GL_SetAttribute(SDL_GL_DEPTH_SIZE, 0);
  SDL_GL_SetAttribute(SDL_GL_STENCIL_SIZE, 0);
  SDL_Window* window =
      SDL_CreateWindow("bare", SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED, width, height,
                       SDL_WINDOW_OPENGL | SDL_WINDOW_ALLOW_HIGHDPI);
  if (window == nullptr) return 1;
  SDL_GLContext gl = SDL_GL_CreateContext(window);
  if (gl == nullptr) return 1;
  SDL_GL_MakeCurrent(window, gl);
  SDL_GL_SetSwapInterval(1);

  bool quit = false;
  const auto frame = [&] {
    SDL_Event event;
    while (SDL_PollEvent(&event) != 0) {
      if (event.type == SDL_QUIT) quit = true;
    }
    glViewport(0, 0, width, height);
    glClearColor(0.1F, 0.1F, 0.1F, 1.F);
    glClear(GL_COLOR_BUFFER_BIT);
    SDL_GL_SwapWindow(window);
  };
  frame();
  std::fprintf(stderr, "%s\n", kFirstFrameLine);
  std::fflush(stderr);
  if (frames > 0) {
    constexpr int kSettleFrames = 3;
    for (int i = 0; i < kSettleFrames; ++i) frame();
    std::vector<double> frameMs;
    for (int i = 0; i < frames && !quit; ++i) {
      const auto start = Clock::now();
      frame();
      frameMs.push_back(ms(Clock::now() - start));
    }
    std::printf("%s\n", framesJson("bare", width, height, frameMs).c_str());
  } else {
    while (!quit) {
      SDL_Event event;
      if (SDL_WaitEventTimeout(&event, 60000) != 0 && event.type == SDL_QUIT) quit = true;
    }
  }
  SDL_GL_DeleteContext(gl);
  SDL_DestroyWindow(window);
  SDL_Quit();
  return 0;
}

// ---- child processes

// A child with its stdout and stderr on pipes; stderr is read by a thread (so the child never
// blocks on a full pipe) that notes when the first-frame line arrives.
class Child {
 public:
  explicit Child(const std::vector<std::string>& argv) {
    int out[2];
    int err[2];
    if (pipe(out) != 0 || pipe(err) != 0) die("pipe");
    m_started = Clock::now();
    m_pid = fork();
    if (m_pid < 0) die("fork");
    if (m_pid == 0) {
      dup2(out[1], STDOUT_FILENO);
      dup2(err[1], STDERR_FILENO);
      close(out[0]);
      close(out[1]);
      close(err[0]);
      close(err[1]);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    close(out[1]);
    close(err[1]);
    m_out = out[0];
    m_reader = std::thread([this, fd = err[0]] { readErrors(fd); });
  }
  ~Child() {
    if (m_pid > 0 && !m_reaped) {
      kill(m_pid, SIGKILL);
      wait();
    }
    if (m_reader.joinable()) m_reader.join();
    close(m_out);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return m_pid; }

  // Milliseconds from fork() to the first-frame line, or nullopt when it did not come.
  std::optional<double> waitFirstFrame(std::chrono::seconds timeout) {
    std::unique_lock lock(m_mutex);
    m_changed.wait_for(lock, timeout, [&] { return m_firstFrame.has_value() || m_eof; });
    if (!m_firstFrame) return std::nullopt;
    return ms(*m_firstFrame - m_started);
  }

  // Everything the child writes on stdout until it closes it.
  std::string readAllOutput() {
    std::string text;
    char buffer[65536];
    for (;;) {
      const ssize_t n = read(m_out, buffer, sizeof buffer);
      if (n <= 0) break;
      text.append(buffer, static_cast<std::size_t>(n));
    }
    return text;
  }

  // Asks the child to quit (SIGTERM, which SDL turns into a quit event), SIGKILL after 10 s.
  void stop() {
    kill(m_pid, SIGTERM);
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < deadline) {
      int status = 0;
      rusage usage{};
      if (wait4(m_pid, &status, WNOHANG, &usage) == m_pid) {
        reaped(status, usage);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill(m_pid, SIGKILL);
    wait();
  }

  int wait() {
    int status = 0;
    rusage usage{};
    if (wait4(m_pid, &status, 0, &usage) == m_pid) reaped(status, usage);
    return m_status;
  }

  // Peak RSS in MB from the kernel's accounting once reaped (ru_maxrss).
  double peakRssMb() const { return static_cast<double>(m_maxRssKb) / 1024.0; }

  std::string errors() {
    std::lock_guard lock(m_mutex);
    return m_errors;
  }

 private:
  void reaped(int status, const rusage& usage) {
    m_reaped = true;
    m_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    m_maxRssKb = usage.ru_maxrss;
  }

  void readErrors(int fd) {
    char buffer[4096];
    std::string line;
    for (;;) {
      const ssize_t n = read(fd, buffer, sizeof buffer);
      if (n <= 0) break;
      const auto now = Clock::now();
      std::lock_guard lock(m_mutex);
      m_errors.append(buffer, static_cast<std::size_t>(n));
      if (m_errors.size() > 65536) m_errors.erase(0, m_errors.size() - 65536);
      if (!m_firstFrame && m_errors.find(kFirstFrameLine) != std::string::npos) {
        m_firstFrame = now;
        m_changed.notify_all();
      }
    }
    close(fd);
    std::lock_guard lock(m_mutex);
    m_eof = true;
    m_changed.notify_all();
  }

  pid_t m_pid = -1;
  int m_out = -1;
  bool m_reaped = false;
  int m_status = -1;
  long m_maxRssKb = 0;
  Clock::time_point m_started;
  std::thread m_reader;
  std::mutex m_mutex;
  std::condition_variable m_changed;
  std::optional<Clock::time_point> m_firstFrame;
  bool m_eof = false;
  std::string m_errors;
};

// CPU seconds (user + system, all threads) a live process has used.
double cpuSeconds(pid_t pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(file, stat);
  // The command name may hold spaces: fields are counted after its closing parenthesis.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) die("cannot read /proc/" + std::to_string(pid) + "/stat");
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  for (int index = 3; fields >> field; ++index) {  // field 3 is the state
    if (index == 14) utime = std::stoull(field);
    if (index == 15) {
      stime = std::stoull(field);
      break;
    }
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// A "Vm...:" figure of /proc/PID/status in MB.
double statusMb(pid_t pid, const std::string& key) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(file, line)) {
    if (line.rfind(key + ":", 0) == 0) {
      return std::strtod(line.c_str() + key.size() + 1, nullptr) / 1024.0;
    }
  }
  return 0;
}

// An X server for the run: DISPLAY when set, else a private Xvfb tall enough for portrait.
class Display {
 public:
  Display() {
    if (const char* display = std::getenv("DISPLAY"); display != nullptr && *display != '\0') {
      std::printf("  X display %s (from DISPLAY)\n", display);
      return;
    }
    // A display number nobody uses: no lock file and no socket (a socket without a lock file
    // is another server's, and clients would reach it).
    int number = 90 + static_cast<int>(getpid() % 100);
    const auto taken = [](int n) {
      const std::string id = std::to_string(n);
      return access(("/tmp/.X" + id + "-lock").c_str(), F_OK) == 0 ||
             access(("/tmp/.X11-unix/X" + id).c_str(), F_OK) == 0;
    };
    while (taken(number)) ++number;
    const std::string display = ":" + std::to_string(number);
    m_xvfb = fork();
    if (m_xvfb == 0) {
      const int devnull = ::open("/dev/null", O_WRONLY);
      dup2(devnull, STDERR_FILENO);
      execlp("Xvfb", "Xvfb", display.c_str(), "-screen", "0", "1920x1920x24", "-nolisten", "tcp",
             static_cast<char*>(nullptr));
      _exit(127);
    }
    const std::string socket = "/tmp/.X11-unix/X" + std::to_string(number);
    for (int i = 0; i < 100 && access(socket.c_str(), F_OK) != 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (access(socket.c_str(), F_OK) != 0) {
      die("Xvfb did not start (install the xvfb package or set DISPLAY)");
    }
    setenv("DISPLAY", display.c_str(), 1);
    std::printf("  X display %s (a private Xvfb, 1920x1920x24)\n", display.c_str());
  }
  ~Display() {
    if (m_xvfb > 0) {
      kill(m_xvfb, SIGTERM);
      waitpid(m_xvfb, nullptr, 0);
    }
  }
  Display(const Display&) = delete;
  Display& operator=(const Display&) = delete;

 private:
  pid_t m_xvfb = -1;
};

std::string selfPath() {
  char path[4096];
  const ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) die("cannot find /proc/self/exe");
  return std::string(path, static_cast<std::size_t>(n));
}

std::vector<std::string> kioskArgs(const std::vector<std::string>& extra,
                                   const char* logLevel = "info") {
  std::vector<std::string> args = {KIOSK_BINARY, "--windowed", kSize, "--log-level", logLevel};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::vector<std::string> bareArgs(const std::vector<std::string>& extra) {
  std::vector<std::string> args = {selfPath(), "--bare-window", kSize};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

double needFirstFrame(Child& child, const char* what) {
  const auto first = child.waitFirstFrame(std::chrono::seconds(60));
  if (!first) die(std::string(what) + " showed no first frame:\n" + child.errors());
  return *first;
}

struct FrameFigures {
  double p50 = 0;
  double p95 = 0;
  double peakRssMb = 0;
};

FrameFigures frameStats(const std::vector<std::string>& args, const std::string& what) {
  Child child(args);
  const std::string output = child.readAllOutput();
  const int status = child.wait();
  nlohmann::json report;
  try {
    report = nlohmann::json::parse(output);
  } catch (const std::exception&) {
    die(what + ": no frame statistics (exit " + std::to_string(status) + "):\n" + child.errors());
  }
  if (status != 0) die(what + ": exit " + std::to_string(status) + "\n" + child.errors());
  return {report.at("p50_ms").get<double>(), report.at("p95_ms").get<double>(), child.peakRssMb()};
}

const std::vector<std::string>& screens() {
  static const std::vector<std::string> kScreens = {
      "attract",        "reading",        "account",     "amount",
      "pay",            "writing",        "done",        "reinsert",
      "out_of_service", "error:network",  "error:declined", "error:foreign_card",
      "pin",            "maintenance"};
  return kScreens;
}

}  // namespace

int main(int argc, char** argv) {
  int idleSeconds = 30;
  int frames = 120;
  int starts = 5;
  for (int i = 1; i < argc; ++i) {
    const auto next = [&] { return i + 1 < argc ? argv[++i] : ""; };
    if (std::strcmp(argv[i], "--bare-window") == 0) {
      const std::string size = next();
      const int count = (i + 2 < argc && std::strcmp(argv[i + 1], "--frames") == 0)
                            ? std::atoi(argv[i + 2])
                            : 0;
      return bareWindow(size, count);
    }
    if (std::strcmp(argv[i], "--idle-seconds") == 0) idleSeconds = std::max(5, std::atoi(next()));
    if (std::strcmp(argv[i], "--frames") == 0) frames = std::max(20, std::atoi(next()));
    if (std::strcmp(argv[i], "--starts") == 0) starts = std::max(1, std::atoi(next()));
    // Other arguments belong to other benchmarks (scripts/bench.sh passes the same to all).
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::printf("ui_bench: the kiosk binary at %s, CJK font loaded\n", kSize);
  Display display;

  // 1. Start to first frame, alternating the two programs so that both see the same load.
  std::vector<double> bareStart;
  std::vector<double> kioskStart;
  for (int run = 0; run < starts; ++run) {
    {
      Child bare(bareArgs({}));
      bareStart.push_back(needFirstFrame(bare, "the bare window"));
      bare.stop();
    }
    {
      Child kiosk(kioskArgs({"--screen", "attract"}));
      kioskStart.push_back(needFirstFrame(kiosk, "the kiosk"));
      kiosk.stop();
    }
  }
  const double bareStartMs = median(bareStart);
  const double kioskStartMs = median(kioskStart);
  std::printf("  start -> first frame presented (median of %d starts)\n", starts);
  std::printf("    bare SDL2 + GL window         %8.0f ms\n", bareStartMs);
  std::printf("    kiosk, attract screen         %8.0f ms   ratio %.2f\n", kioskStartMs,
              ratio(kioskStartMs, bareStartMs));

  // 2 and 3. Idle: the kiosk on the attract screen, the bare window and `sleep`, side by side.
  Child kiosk(kioskArgs({"--screen", "attract"}));
  Child bare(bareArgs({}));
  Child sleeper({"/bin/sleep", std::to_string(idleSeconds + 60)});
  needFirstFrame(kiosk, "the kiosk");
  needFirstFrame(bare, "the bare window");
  std::this_thread::sleep_for(std::chrono::seconds(2));  // past the settling frames
  const double kioskCpu0 = cpuSeconds(kiosk.pid());
  const double bareCpu0 = cpuSeconds(bare.pid());
  const double sleepCpu0 = cpuSeconds(sleeper.pid());
  const auto idleStart = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(idleSeconds));
  const double wall = std::chrono::duration<double>(Clock::now() - idleStart).count();
  const double kioskCpu = (cpuSeconds(kiosk.pid()) - kioskCpu0) / wall * 100.0;
  const double bareCpu = (cpuSeconds(bare.pid()) - bareCpu0) / wall * 100.0;
  const double sleepCpu = (cpuSeconds(sleeper.pid()) - sleepCpu0) / wall * 100.0;
  const double kioskHwm = statusMb(kiosk.pid(), "VmHWM");
  const double kioskRss = statusMb(kiosk.pid(), "VmRSS");
  const double bareHwm = statusMb(bare.pid(), "VmHWM");
  const double bareRss = statusMb(bare.pid(), "VmRSS");
  kiosk.stop();
  bare.stop();
  sleeper.stop();
  const double tick = 100.0 / static_cast<double>(sysconf(_SC_CLK_TCK)) / wall;
  const bool cpuOk = kioskCpu < kCpuTargetPercent;
  std::printf("  idle CPU over %.0f s, %% of one core (resolution %.3f%%)\n", wall, tick);
  std::printf("    sleep                         %8.3f %%\n", sleepCpu);
  std::printf("    bare window, waiting          %8.3f %%\n", bareCpu);
  std::printf("    kiosk, attract screen         %8.3f %%   ratio to bare %.2f   target < %.0f%%  %s\n",
              kioskCpu, ratio(kioskCpu, bareCpu), kCpuTargetPercent, cpuOk ? "ok" : "MISSED");
  const bool rssOk = kioskHwm < kRssTargetMb;
  std::printf("  memory (VmHWM peak / VmRSS now)\n");
  std::printf("    bare SDL2 + GL window         %8.1f MB / %.1f MB\n", bareHwm, bareRss);
  std::printf("    kiosk, attract screen         %8.1f MB / %.1f MB   ratio %.2f   target < %.0f MB  %s\n",
              kioskHwm, kioskRss, ratio(kioskHwm, bareHwm), kRssTargetMb, rssOk ? "ok" : "MISSED");
  std::printf("    kiosk's own share             %8.1f MB\n", kioskHwm - bareHwm);

  // 4. Frame times at 1080x1920, drawing continuously.
  const std::string count = std::to_string(frames);
  const FrameFigures bareFrames = frameStats(bareArgs({"--frames", count}), "the bare window");
  std::printf("  frame time at %s over %d frames, start of frame to buffer swapped\n", kSize,
              frames);
  std::printf("    %-28s p50 %6.2f ms  p95 %6.2f ms\n", "bare window (clear only)",
              bareFrames.p50, bareFrames.p95);
  double worstPeak = 0;
  std::string worstPeakScreen;
  for (const auto& screen : screens()) {
    const FrameFigures figures =
        frameStats(kioskArgs({"--screen", screen, "--frame-stats", count}, "warn"),
                   "kiosk --screen " + screen);
    std::printf("    %-28s p50 %6.2f ms  p95 %6.2f ms  ratio p95 %5.2f  peak RSS %6.1f MB\n",
                screen.c_str(), figures.p50, figures.p95, ratio(figures.p95, bareFrames.p95),
                figures.peakRssMb);
    if (figures.peakRssMb > worstPeak) {
      worstPeak = figures.peakRssMb;
      worstPeakScreen = screen;
    }
  }
  std::printf("  highest peak RSS drawing continuously: %.1f MB (%s)\n", worstPeak,
              worstPeakScreen.c_str());
  return cpuOk && rssOk ? 0 : 1;
}
