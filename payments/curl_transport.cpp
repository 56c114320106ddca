#include "payments/curl_transport.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace kiosk::payments {

namespace {

std::once_flag g_curlInit;

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(first, last - first + 1));
}

struct Exchange {
  HttpResponse response;
  std::size_t limit = 0;
  bool tooLarge = false;
  const std::atomic<bool>* cancel = nullptr;
};

std::size_t onBody(char* data, std::size_t size, std::size_t count, void* user) {
  auto& exchange = *static_cast<Exchange*>(user);
  const std::size_t bytes = size * count;
  if (exchange.response.body.size() + bytes > exchange.limit) {
    exchange.tooLarge = true;
    return 0;  // CURLE_WRITE_ERROR
  }
  exchange.response.body.append(data, bytes);
  return bytes;
}

std::size_t onHeader(char* data, std::size_t size, std::size_t count, void* user) {
  auto& exchange = *static_cast<Exchange*>(user);
  const std::size_t bytes = size * count;
  const std::string_view line(data, bytes);
  // A new status line (after "100 Continue") starts a new set of headers.
  if (line.starts_with("HTTP/")) {
    exchange.response.headers.clear();
    return bytes;
  }
  const auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    exchange.response.headers[lower(std::string(line.substr(0, colon)))] =
        trim(line.substr(colon + 1));
  }
  return bytes;
}

int onProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto& exchange = *static_cast<Exchange*>(user);
  return exchange.cancel != nullptr && exchange.cancel->load() ? 1 : 0;
}

bool isLoopbackHost(std::string host) {
  host = lower(std::move(host));
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host == "[::1]";
}

}  // namespace

// Connections, TLS sessions and DNS answers shared by all easy handles; libcurl asks for a
// lock per kind of data.
struct CurlTransport::Share {
  CURLSH* handle = nullptr;
  std::array<std::mutex, CURL_LOCK_DATA_LAST> locks;

  static void lock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
    static_cast<Share*>(user)->locks[static_cast<std::size_t>(data)].lock();
  }
  static void unlock(CURL*, curl_lock_data data, void* user) {
    static_cast<Share*>(user)->locks[static_cast<std::size_t>(data)].unlock();
  }

  Share() {
    handle = curl_share_init();
    curl_share_setopt(handle, CURLSHOPT_LOCKFUNC, &Share::lock);
    curl_share_setopt(handle, CURLSHOPT_UNLOCKFUNC, &Share::unlock);
    curl_share_setopt(handle, CURLSHOPT_USERDATA, this);
    curl_share_setopt(handle, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(handle, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_share_setopt(handle, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
  }
  ~Share() { curl_share_cleanup(handle); }
  Share(const Share&) = delete;
  Share& operator=(const Share&) = delete;
};

Result<std::unique_ptr<CurlTransport>, std::string> CurlTransport::create(CurlOptions options) {
  std::call_once(g_curlInit, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  while (!options.baseUrl.empty() && options.baseUrl.back() == '/') options.baseUrl.pop_back();
  CURLU* url = curl_url();
  const CURLUcode parsed = curl_url_set(url, CURLUPART_URL, options.baseUrl.c_str(), 0);
  char* scheme = nullptr;
  char* host = nullptr;
  char* path = nullptr;
  std::string problem;
  if (parsed != CURLUE_OK || curl_url_get(url, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
      curl_url_get(url, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
    problem = "cloud URL \"" + options.baseUrl + "\" is not a valid URL";
  } else {
    (void)curl_url_get(url, CURLUPART_PATH, &path, 0);
    const std::string schemeText = lower(scheme);
    if (path != nullptr && std::string_view(path) != "/" && std::string_view(path) != "") {
      problem = "cloud URL must not have a path: " + options.baseUrl;
    } else if (schemeText == "http") {
      if (!isLoopbackHost(host)) {
        problem = "plain http:// is only allowed for a cloud on this machine; use https:// for " +
                  std::string(host);
      }
    } else if (schemeText != "https") {
      problem = "cloud URL must be https:// (or http:// on loopback): " + options.baseUrl;
    }
  }
  curl_free(scheme);
  curl_free(host);
  curl_free(path);
  curl_url_cleanup(url);
  if (!problem.empty()) return fail(problem);
  return std::unique_ptr<CurlTransport>(new CurlTransport(std::move(options)));
}

CurlTransport::CurlTransport(CurlOptions options)
    : m_options(std::move(options)), m_share(std::make_unique<Share>()) {}

CurlTransport::~CurlTransport() {
  for (void* handle : m_pool) curl_easy_cleanup(static_cast<CURL*>(handle));
}

void* CurlTransport::acquire() {
  {
    std::lock_guard lock(m_poolMutex);
    if (!m_pool.empty()) {
      void* handle = m_pool.back();
      m_pool.pop_back();
      return handle;
    }
  }
  return curl_easy_init();
}

void CurlTransport::release(void* handle) {
  std::lock_guard lock(m_poolMutex);
  m_pool.push_back(handle);
}

Result<HttpResponse, TransportFailure> CurlTransport::send(const HttpRequest& request) {
  CURL* curl = static_cast<CURL*>(acquire());
  if (curl == nullptr) return fail(TransportFailure{CURLE_OUT_OF_MEMORY, "curl_easy_init failed"});
  curl_easy_reset(curl);  // keeps the handle's connections, forgets the last request's options

  Exchange exchange;
  exchange.limit = m_options.maxResponseBytes;
  exchange.cancel = request.cancel;
  const std::string url = m_options.baseUrl + request.target;
  const auto total = request.timeout.count() > 0 ? request.timeout : m_options.totalTimeout;
  char errorBuffer[CURL_ERROR_SIZE] = {};

  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_SHARE, m_share->handle);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(m_options.connectTimeout.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(total.count()));
  // Never weakened: a kiosk that trusted any certificate would hand its signed requests to
  // whoever sits on the network.
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!m_options.caFile.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, m_options.caFile.c_str());
  if (!m_options.pinnedPublicKey.empty()) {
    curl_easy_setopt(curl, CURLOPT_PINNEDPUBLICKEY, m_options.pinnedPublicKey.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errorBuffer);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &onBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &exchange);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &onHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &exchange);
  if (request.cancel != nullptr) {
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &onProgress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &exchange);
  }

  curl_slist* headers = nullptr;
  // No "Expect: 100-continue" round trip before a body.
  headers = curl_slist_append(headers, "Expect:");
  for (const auto& [name, value] : request.headers) {
    headers = curl_slist_append(headers, (name + ": " + value).c_str());
  }
  if (request.method == "POST") {
    headers = curl_slist_append(headers, ("Content-Type: " + request.contentType).c_str());
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  } else if (request.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);

  const CURLcode code = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  release(curl);

  if (code != CURLE_OK) {
    std::string message = errorBuffer[0] != '\0' ? errorBuffer : curl_easy_strerror(code);
    if (exchange.tooLarge) {
      message = "answer larger than " + std::to_string(m_options.maxResponseBytes) + " bytes";
    }
    return fail(TransportFailure{static_cast<int>(code), std::move(message)});
  }
  exchange.response.status = status;
  return std::move(exchange.response);
}

}  // namespace kiosk::payments
