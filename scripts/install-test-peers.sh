#!/usr/bin/env bash
# Installs the real peers the end-to-end tests in tests/ talk to:
#   swaks (a scriptable SMTP client; libnet-ssleay-perl gives it --tls),
#   Postfix (for smtp-source and the private upstream instances), python3
#   (smtplib), haproxy (a load balancer sending PROXY protocol headers) and
#   dnsmasq (a DNS server that is not ours, answering a test DNSBL zone;
#   dnsmasq-base is the binary alone, without a system service to disable),
#   and headless Chromium driven by Selenium (chromium, chromium-driver,
#   python3-selenium) for the quarantine review page.
# Non-interactive and idempotent; run as root. The system's own Postfix is
# left stopped and disabled: the tests start private instances of their own.
set -euo pipefail

packages=(swaks libnet-ssleay-perl postfix python3 haproxy dnsmasq-base
    chromium chromium-driver python3-selenium)

missing=()
for pkg in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$pkg")
    fi
done

if ((${#missing[@]} > 0)); then
    export DEBIAN_FRONTEND=noninteractive
    # Postfix asks what kind of mail server this is; answer "none" so the
    # install neither prompts nor writes a working main.cf.
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    echo "postfix postfix/mailname string localhost" | debconf-set-selections
    if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
        apt-get update
        apt-get install -y --no-install-recommends "${missing[@]}"
    fi
fi

# The tests run their own Postfix on a private port; the system one must not
# listen on port 25 or deliver anything.
postfix stop 2>/dev/null || true
systemctl disable --now postfix 2>/dev/null || true
# Likewise haproxy: the tests run private instances.
systemctl disable --now haproxy 2>/dev/null || true
service haproxy stop 2>/dev/null || true

for tool in swaks /usr/sbin/smtp-source /usr/sbin/postfix /usr/sbin/postqueue python3 /usr/sbin/haproxy /usr/sbin/dnsmasq \
    /usr/bin/chromium /usr/bin/chromedriver; do
    command -v "$tool" >/dev/null || { echo "install-test-peers: $tool still missing" >&2; exit 1; }
done
perl -MNet::SSLeay -e1 || { echo "install-test-peers: Net::SSLeay missing (swaks --tls)" >&2; exit 1; }
# Debian's python3-selenium is for Debian's own interpreter, whatever python3
# comes first on PATH.
/usr/bin/python3 -c 'import selenium' || { echo "install-test-peers: selenium missing for /usr/bin/python3" >&2; exit 1; }
echo "install-test-peers: swaks (with TLS), postfix (smtp-source), python3, haproxy, dnsmasq, chromium, chromedriver and selenium are installed"
