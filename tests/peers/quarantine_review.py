"""Drives ringwall's quarantine review page in a real headless Chromium
through Selenium (Debian's chromium, chromium-driver and python3-selenium),
as an administrator would, and prints what it saw, one fact per line:

    rows N              data rows of the #messages table
    opened ID           the message page of ID is shown (its #id cell)
    done WORD ID        the first two words of #done after an action

It logs in with the token, sees the list (screenshot list.png), opens
RELEASE_ID (screenshot message.png), clicks #release, then opens DELETE_ID
and clicks #delete, and finally counts the rows left.

Usage: REVIEW_TOKEN=... quarantine_review.py BASE_URL SCREENSHOT_DIR RELEASE_ID DELETE_ID
Environment: CHROMIUM and CHROMEDRIVER name the binaries (Debian's paths by default).
"""

import os
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait


def browser() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for argument in (
        "--headless=new",
        # Tests and CI run as root, where Chromium's sandbox cannot start.
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,900",
    ):
        options.add_argument(argument)
    service = Service(executable_path=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    return webdriver.Chrome(service=service, options=options)


def rows(driver: webdriver.Chrome) -> int:
    table = driver.find_element(By.ID, "messages")
    return len(table.find_elements(By.CSS_SELECTOR, "tr")) - 1


def open_message(driver: webdriver.Chrome, wait: WebDriverWait, base: str, message_id: str) -> None:
    driver.get(f"{base}/quarantine")
    wait.until(expected_conditions.presence_of_element_located((By.ID, "messages")))
    driver.find_element(By.CSS_SELECTOR, f'#messages a[href="/quarantine/{message_id}"]').click()
    shown = wait.until(expected_conditions.presence_of_element_located((By.ID, "id")))
    print("opened", shown.text.strip())


def main() -> None:
    base, screenshots, release_id, delete_id = sys.argv[1:5]
    token = os.environ["REVIEW_TOKEN"]
    driver = browser()
    try:
        wait = WebDriverWait(driver, 15)
        driver.get(f"{base}/quarantine")
        # Not logged in: the list sends the browser to the login form.
        field = wait.until(expected_conditions.presence_of_element_located((By.NAME, "token")))
        field.send_keys(token)
        field.submit()
        wait.until(expected_conditions.presence_of_element_located((By.ID, "messages")))
        print("rows", rows(driver))
        driver.save_screenshot(os.path.join(screenshots, "list.png"))

        for message_id, button, shot in ((release_id, "release", "message.png"), (delete_id, "delete", None)):
            open_message(driver, wait, base, message_id)
            if shot:
                driver.save_screenshot(os.path.join(screenshots, shot))
            driver.find_element(By.ID, button).click()
            done = wait.until(expected_conditions.presence_of_element_located((By.ID, "done")))
            print(done.text, file=sys.stderr)
            print("done", " ".join(done.text.split()[:2]))

        driver.get(f"{base}/quarantine")
        wait.until(expected_conditions.presence_of_element_located((By.ID, "messages")))
        print("rows", rows(driver))
        driver.save_screenshot(os.path.join(screenshots, "after.png"))
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
