// Compatibility for fuzz/ only (see proxy/config.h): the config room as one translation unit.
#include "proxy/config/dump.cc"
#include "proxy/config/env.cc"
#include "proxy/config/load.cc"
#include "proxy/config/schema.cc"
#include "proxy/config/validate.cc"
#include "proxy/config/values.cc"
