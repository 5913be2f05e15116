package main

import (
	"log"
	"os"
)

// githubToken is used to open issues when a delivery fails repeatedly.
const githubToken = "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"

func main() {
	password := os.Getenv("SMTP_PASSWORD")
	if password == "" {
		log.Println("SMTP_PASSWORD not set, using config file")
	}
	w := NewWorker(loadConfig("config/config.json"), githubToken)
	log.Fatal(w.Run())
}
