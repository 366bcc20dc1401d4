#pragma once
// The `alerting:` section's types, defined once in config/alerting.h and read with the rest
// of the config file (config::load_config, config::parse_alerting). These are their names
// in alerts::, so the notify stage reads as before: alerts::Route, alerts::AlertingConfig...
#include "config/alerting.h"

namespace cargomon::alerts::notify {

using config::AlertingConfig;
using config::AlertmanagerConfig;
using config::BasicAuth;
using config::DeliveryOptions;
using config::HttpOptions;
using config::IntegrationConfig;
using config::IntegrationSpec;
using config::ReceiverConfig;
using config::Route;
using config::SlackConfig;
using config::WebhookConfig;

}  // namespace cargomon::alerts::notify
