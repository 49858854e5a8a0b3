#ifndef LOUPE_BASE_SANITIZERS_H_
#define LOUPE_BASE_SANITIZERS_H_

// LOUPE_ADDRESS_SANITIZER is 1 in a build with AddressSanitizer (or
// LeakSanitizer) under GCC or clang, else 0. GCC defines
// __SANITIZE_ADDRESS__; clang before 15 says so only through
// __has_feature.
#if defined(__SANITIZE_ADDRESS__)
#define LOUPE_ADDRESS_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#define LOUPE_ADDRESS_SANITIZER 1
#endif
#endif
#ifndef LOUPE_ADDRESS_SANITIZER
#define LOUPE_ADDRESS_SANITIZER 0
#endif

#endif  // LOUPE_BASE_SANITIZERS_H_
