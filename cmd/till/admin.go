package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/tillpay/till"
	"github.com/tillpay/till/api"
	tillhttp "github.com/tillpay/till/http"
	"github.com/tillpay/till/service"
)

// openService opens the store for a one-shot administration command.
func openService(ctx context.Context, sf *storageFlags) (*service.Service, func(), error) {
	log := slog.New(slog.DiscardHandler)
	st, err := sf.open(ctx, log)
	if err != nil {
		return nil, nil, err
	}
	return service.New(service.Config{Store: st, Logger: log}), func() { st.Close() }, nil
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var sf storageFlags
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	st, err := sf.open(ctx, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintf(stdout, "%s: schema is up to date\n", st.describe)
	return nil
}

func runAccounts(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return usageError{"usage: till accounts create --name NAME [--country DE] [--json]"}
	}
	var sf storageFlags
	var in api.NewAccount
	var asJSON bool
	fs := flag.NewFlagSet("accounts create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sf.register(fs)
	fs.StringVar(&in.Name, "name", "", "the merchant's `name` (required)")
	fs.StringVar(&in.Country, "country", "DE", "ISO `country` where the merchant is established (its tax origin)")
	fs.BoolVar(&asJSON, "json", false, "print the account id and keys as JSON")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	svc, done, err := openService(ctx, &sf)
	if err != nil {
		return err
	}
	defer done()
	created, err := svc.CreateAccount(ctx, nil, service.NewAccountParams{Name: in.Name, Country: in.Country})
	if err != nil {
		return err
	}
	keys := tillhttp.AccountKeysOf(created)
	if asJSON {
		return json.NewEncoder(stdout).Encode(keys)
	}
	fmt.Fprintf(stdout, "account %s\n  test secret key:      %s\n  test publishable key: %s\n  live secret key:      %s\n  live publishable key: %s\n",
		keys.ID, keys.TestSecretKey, keys.TestPublishableKey, keys.LiveSecretKey, keys.LivePublishableKey)
	return nil
}

func runKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "rotate-data-key" {
		return runRotateDataKey(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || (args[0] != "create" && args[0] != "revoke") {
		return usageError{"usage: till keys create --account ID --mode test|live [--publishable] [--json] | till keys revoke KEY_ID | till keys rotate-data-key"}
	}
	var sf storageFlags
	fs := flag.NewFlagSet("keys "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	sf.register(fs)
	var account, mode string
	var publishable, asJSON bool
	if args[0] == "create" {
		fs.StringVar(&account, "account", "", "account `id` (required)")
		fs.StringVar(&mode, "mode", "test", "test or live")
		fs.BoolVar(&publishable, "publishable", false, "make a publishable key (tokenizes cards only)")
		fs.BoolVar(&asJSON, "json", false, "print the key as JSON")
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	svc, done, err := openService(ctx, &sf)
	if err != nil {
		return err
	}
	defer done()
	if args[0] == "revoke" {
		if fs.NArg() != 1 {
			return usageError{"usage: till keys revoke KEY_ID"}
		}
		key, err := svc.RevokeKey(ctx, nil, fs.Arg(0))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked %s (…%s)\n", key.ID, key.Last4)
		return nil
	}
	if account == "" {
		return usageError{"--account is required"}
	}
	kind := "secret"
	if publishable {
		kind = "publishable"
	}
	created, err := svc.CreateKey(ctx, nil, account, service.KeyParams{Mode: mode, Kind: kind})
	if err != nil {
		return err
	}
	key := tillhttp.KeyOf(created)
	if asJSON {
		return json.NewEncoder(stdout).Encode(key)
	}
	fmt.Fprintf(stdout, "key %s: %s\n", key.ID, key.Secret)
	return nil
}

// runRotateDataKey makes a new active card data key, wrapped under the
// primary master key, and stores it with the keys it deactivates. Servers
// keep sealing under the key they loaded until they restart (harmless: every
// stored key still opens its data) and load a key they do not know the first
// time they meet data sealed under it.
func runRotateDataKey(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var sf storageFlags
	fs := flag.NewFlagSet("keys rotate-data-key", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	st, err := sf.open(ctx, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer st.Close()
	kr, _, err := openKeyring(ctx, st, sf.data)
	if err != nil {
		return err
	}
	key, deactivated, err := kr.RotateDataKey()
	if err != nil {
		return err
	}
	err = st.Update(ctx, func(tx till.Tx) error {
		if err := tx.CreateDataKey(ctx, key); err != nil {
			return err
		}
		for _, k := range deactivated {
			if err := tx.UpdateDataKey(ctx, k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "new card data key %s (wrapped by %s); %d key(s) deactivated, still used to open what they sealed\n",
		key.ID, key.MasterKeyID, len(deactivated))
	return nil
}
