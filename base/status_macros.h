#pragma once

// RETURN_IF_ERROR and ASSIGN_OR_RETURN: early returns on an error absl::Status,
// as in abseil's and Google's internal macros. For functions that return
// absl::Status or absl::StatusOr<T> (an error Status converts to either).
//
//   absl::Status Check(const Piece& p) {
//     RETURN_IF_ERROR(CheckText("title", p.title()));
//     ASSIGN_OR_RETURN(const uint32_t n, ParseNumber(p.number()));
//     ...
//   }
//
// RETURN_IF_ERROR(expr): `expr` is an absl::Status, evaluated once; if it is
// not OK, the enclosing function returns it unchanged (code and message).
// One statement.
//
// ASSIGN_OR_RETURN(lhs, expr): `expr` is an absl::StatusOr<T>, evaluated
// once; if it holds an error, the enclosing function returns that status,
// else its value is moved into `lhs`: a new variable (`auto x`, `const T x`)
// or an existing one. It expands to several statements in the enclosing
// scope, so it cannot be the unbraced body of an if, else or loop. A `lhs`
// with a comma outside parentheses (`std::pair<A, B> p`) does not work: use
// `auto`.
//
// No thread or ownership concerns: the macros only return or move values.

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define RETURN_IF_ERROR(expr)                        \
  do {                                               \
    if (::absl::Status loupe_status_macro_ = (expr); \
        !loupe_status_macro_.ok()) {                 \
      return loupe_status_macro_;                    \
    }                                                \
  } while (false)

#define ASSIGN_OR_RETURN(lhs, expr) \
  LOUPE_ASSIGN_OR_RETURN_IMPL_(     \
      LOUPE_STATUS_MACROS_CONCAT_(loupe_status_or_, __LINE__), lhs, expr)

// Implementation details: a variable named after the line, so that two
// ASSIGN_OR_RETURNs in one scope do not collide.
#define LOUPE_STATUS_MACROS_CONCAT_INNER_(a, b) a##b
#define LOUPE_STATUS_MACROS_CONCAT_(a, b) \
  LOUPE_STATUS_MACROS_CONCAT_INNER_(a, b)
#define LOUPE_ASSIGN_OR_RETURN_IMPL_(status_or, lhs, expr) \
  auto status_or = (expr);                                 \
  if (!status_or.ok()) {                                   \
    return std::move(status_or).status();                  \
  }                                                        \
  lhs = *std::move(status_or)
