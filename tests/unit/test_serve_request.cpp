#include "serve/request.hpp"
#include "util/error.hpp"

#include <doctest/doctest.h>

using namespace modelkeep;
using serve::Fields;
using serve::Target;

namespace {

ExitCode code_of(const std::function<void()>& f)
{
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  return ExitCode::ok;
}

} // namespace

TEST_CASE("percent_decode: + is a plus in a path and a space in a query, bad escapes are refused")
{
  CHECK(serve::percent_decode("1.0.0+build.5", false) == "1.0.0+build.5");
  CHECK(serve::percent_decode("a+b", true) == "a b");
  CHECK(serve::percent_decode("a%2Bb%20c", false) == "a+b c");
  CHECK(serve::percent_decode("%e2%82%ac", false) == "\xe2\x82\xac");
  CHECK_FALSE(serve::percent_decode("%", false));
  CHECK_FALSE(serve::percent_decode("ab%4", false));
  CHECK_FALSE(serve::percent_decode("%zz", false));
}

TEST_CASE("Target::parse splits decoded segments and the query, refusing NUL, bad UTF-8 and repeats")
{
  const auto t = Target::parse("/api/v1/versions/1.0.0+build.5?limit=5&cursor=v%30&tag=a+b&flag");
  REQUIRE(t.segments.size() == 4);
  CHECK(t.segments[3] == "1.0.0+build.5");
  CHECK(t.path == "/api/v1/versions/1.0.0+build.5");
  CHECK(t.query.at("limit") == "5");
  CHECK(t.query.at("cursor") == "v0");
  CHECK(t.query.at("tag") == "a b");
  CHECK(t.query.at("flag").empty());
  CHECK(Target::parse("//api//v1/").segments.size() == 2);
  CHECK(code_of([] { (void)Target::parse("/api/v1/versions/v001%00x"); }) == ExitCode::usage);
  CHECK(code_of([] { (void)Target::parse("/api/v1/versions/%ff"); }) == ExitCode::usage);
  CHECK(code_of([] { (void)Target::parse("/api/v1/x?a=%00"); }) == ExitCode::usage);
  CHECK(code_of([] { (void)Target::parse("/api/v1/x?a=1&a=2"); }) == ExitCode::usage);
  CHECK(code_of([] { (void)Target::parse("/api/v1/%g1"); }) == ExitCode::usage);
}

TEST_CASE("Fields checks JSON types strictly and refuses fields nobody read")
{
  Fields body(nlohmann::json{{"version", "2"}, {"flag", false}, {"n", 3}, {"x", 0.5}, {"nothing", nullptr}});
  CHECK(body.required_text("version") == "2");
  CHECK(body.flag("flag") == false);
  CHECK(body.count("n") == 3U);
  CHECK(body.number("x") == doctest::Approx(0.5));
  CHECK_FALSE(body.text("nothing"));
  CHECK_FALSE(body.text("absent"));
  CHECK_NOTHROW(body.finish());

  Fields extra(nlohmann::json{{"version", "2"}, {"force", true}});
  (void)extra.text("version");
  CHECK(code_of([&] { extra.finish(); }) == ExitCode::usage);

  Fields typed(nlohmann::json{{"b", "yes"}, {"s", 5}, {"c", -1}, {"nul", std::string("x\0y", 3)}, {"e", ""}});
  CHECK(code_of([&] { (void)typed.flag("b"); }) == ExitCode::usage);
  CHECK(code_of([&] { (void)typed.text("s"); }) == ExitCode::usage);
  CHECK(code_of([&] { (void)typed.count("c"); }) == ExitCode::usage);
  CHECK(code_of([&] { (void)typed.text("nul"); }) == ExitCode::usage);
  CHECK(code_of([&] { (void)typed.required_text("e"); }) == ExitCode::usage);
  CHECK(code_of([] { Fields not_object(nlohmann::json::array()); }) == ExitCode::malformed);

  // In a body, text is not a number or a flag (only a query's values are all text).
  Fields texts(nlohmann::json{{"flag", "true"}, {"n", "10"}, {"x", "0.5"}});
  CHECK(code_of([&] { (void)texts.flag("flag"); }) == ExitCode::usage);
  CHECK(code_of([&] { (void)texts.count("n"); }) == ExitCode::usage);
  CHECK(code_of([&] { (void)texts.number("x"); }) == ExitCode::usage);
}

TEST_CASE("query fields: numbers and flags from text")
{
  Fields query = serve::query_fields({{"limit", "20"}, {"all", "true"}, {"x", "1e3"}, {"bad", "2x"}});
  CHECK(query.count("limit") == 20U);
  CHECK(query.flag("all") == true);
  CHECK(query.number("x") == doctest::Approx(1000));
  CHECK(code_of([&] { (void)query.count("bad"); }) == ExitCode::usage);
}
