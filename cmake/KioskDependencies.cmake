# Every dependency comes from a Debian 12 package (scripts/install-deps.sh installs them).
# Nothing is downloaded at build time.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(OpenSSL 3 REQUIRED)
# Boost.Beast and Asio (header-only): kiosk-cloud's HTTP layer.
find_package(Boost 1.74 REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(PostgreSQL REQUIRED)
find_package(CURL REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(spdlog REQUIRED)
find_package(fmt REQUIRED)
# libhowardhinnant-date-dev: date::date-tz is its libdate-tz.so, built to read the system's zone
# database (it sets USE_OS_TZDB=1 for its users; nothing is downloaded at run time).
find_package(date 3 CONFIG REQUIRED)

pkg_check_modules(PCSCLITE REQUIRED IMPORTED_TARGET libpcsclite)
pkg_check_modules(QRENCODE REQUIRED IMPORTED_TARGET libqrencode)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)

if(KIOSK_BUILD_UI)
  find_package(SDL2 REQUIRED)
  find_package(OpenGL REQUIRED)
  find_package(Freetype REQUIRED)
  # Debian's libimgui-dev 1.86: libimgui.a carries the SDL2 and OpenGL3 backends and the
  # FreeType rasteriser; stb provides stb_image_write for screenshots.
  pkg_check_modules(IMGUI REQUIRED IMPORTED_TARGET imgui)
endif()

if(KIOSK_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(KIOSK_BUILD_BENCH)
  find_package(benchmark QUIET)
endif()

set(KIOSK_CJK_FONT "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc" CACHE FILEPATH
    "Noto Sans CJK collection (Debian fonts-noto-cjk)")
