#pragma once
// Compatibility for fuzz/ only: fuzz_config includes proxy/config.h and compiles proxy/config.cc
// (fuzz/CMakeLists.txt). Once fuzz/ names proxy/config/ itself, delete this file and
// proxy/config.cc. The main build never includes or compiles either.
#include "proxy/config/config.h"
