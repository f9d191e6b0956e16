// File and JSON reading with precise errors.
#include "core/json_util.h"

#include <fstream>
#include <sstream>
#include <system_error>
#include <filesystem>

namespace swaa {

Result<std::string> read_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return not_found(path + ": no such file");
  if (std::filesystem::is_directory(path, ec)) return invalid_argument(path + ": is a directory, expected a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return data_loss(path + ": cannot open for reading");
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return data_loss(path + ": read error");
  return buf.str();
}

Result<nlohmann::json> read_json_file(const std::string& path) {
  SWAA_ASSIGN_OR_RETURN(std::string text, read_file(path));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    try {
      (void)nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
      return data_loss(path + ": invalid JSON (" + e.what() + ")");
    }
    return data_loss(path + ": invalid JSON");
  }
  return j;
}

std::string json_snippet(const nlohmann::json& value) {
  std::string s = value.dump();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

}  // namespace swaa
