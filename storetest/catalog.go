package storetest

import (
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/tillpay/till"
)

// catalogProduct returns a product of scope s with number n and every
// field set.
func catalogProduct(s till.Scope, n int64, at time.Time) *till.Product {
	return &till.Product{CatalogEntry: till.CatalogEntry{ID: ids.NewID(till.PrefixProduct), AccountID: s.AccountID, Livemode: s.Livemode,
		Kind: till.CatalogProduct, Number: n, Version: 1, CreatedAt: at, UpdatedAt: at.Add(time.Second)},
		Name: "Mug", Description: "A mug", Metadata: till.Metadata{"k": "v"},
		Items: []till.ProductItem{{ID: ids.NewID(till.PrefixItem), Number: 7, Description: "Blue", Price: 1999, Currency: "EUR",
			SKU: "MUG-B", Shippable: true, WeightGrams: 350, StockEnabled: true, StockAvailable: 3, OncePerUser: true, CustomPrice: true}}}
}

// testCatalog checks catalogue objects and claims: read back as written by
// id, number and key, scoped to account, mode and kind, numbers gap-free
// per kind and given back by a rolled-back unit, unique numbers and keys
// (a deleted object's key free again), optimistic versions, newest-first
// pages without deleted objects, and claims counted and removed by payment.
func testCatalog(t *testing.T, st till.Store) {
	a, b := account(t, st), account(t, st)
	scope := till.Scope{AccountID: a.ID}

	// Numbers: per scope and kind, from 1, a rolled-back unit gives its
	// number back.
	next := func(s till.Scope, kind till.CatalogKind) int64 {
		var n int64
		update(t, st, func(tx till.Tx) (err error) { n, err = tx.NextCatalogNumber(ctx, s, kind); return err })
		return n
	}
	if n1, n2 := next(scope, till.CatalogProduct), next(scope, till.CatalogProduct); n1 != 1 || n2 != 2 {
		t.Fatalf("numbers %d, %d; want 1, 2", n1, n2)
	}
	if n := next(scope, till.CatalogItem); n != 1 {
		t.Fatalf("item number %d; want 1 (its own series)", n)
	}
	if n := next(till.Scope{AccountID: a.ID, Livemode: true}, till.CatalogProduct); n != 1 {
		t.Fatalf("live number %d; want 1", n)
	}
	boom := errors.New("boom")
	if err := st.Update(ctx, func(tx till.Tx) error {
		if _, err := tx.NextCatalogNumber(ctx, scope, till.CatalogProduct); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if n := next(scope, till.CatalogProduct); n != 3 {
		t.Fatalf("number after a rollback %d; want 3", n)
	}

	// Read back by id and number, in its scope and kind only.
	p := catalogProduct(scope, 3, epoch)
	update(t, st, func(tx till.Tx) error { return tx.CreateCatalogObject(ctx, p) })
	view(t, st, func(tx till.Tx) error {
		var got till.Product
		if err := tx.CatalogObject(ctx, scope, till.CatalogProduct, p.ID, &got); err != nil || !reflect.DeepEqual(&got, p) {
			t.Fatalf("product = %+v, %v; want %+v", got, err, p)
		}
		var byNum till.Product
		if err := tx.CatalogObjectByNumber(ctx, scope, till.CatalogProduct, 3, &byNum); err != nil || byNum.ID != p.ID {
			t.Fatalf("by number = %+v, %v", byNum, err)
		}
		notFound(t, tx.CatalogObject(ctx, till.Scope{AccountID: b.ID}, till.CatalogProduct, p.ID, &till.Product{}))
		notFound(t, tx.CatalogObject(ctx, till.Scope{AccountID: a.ID, Livemode: true}, till.CatalogProduct, p.ID, &till.Product{}))
		notFound(t, tx.CatalogObject(ctx, scope, till.CatalogArticle, p.ID, &till.Article{}))
		notFound(t, tx.CatalogObjectByNumber(ctx, scope, till.CatalogProduct, 99, &till.Product{}))
		return nil
	})
	dupNumber := catalogProduct(scope, 3, epoch)
	if err := st.Update(ctx, func(tx till.Tx) error { return tx.CreateCatalogObject(ctx, dupNumber) }); !errors.Is(err, till.ErrDuplicate) {
		t.Fatalf("duplicate number: %v", err)
	}

	// Keys: unique among objects not deleted.
	coupon := func(n int64) *till.Coupon {
		return &till.Coupon{CatalogEntry: till.CatalogEntry{ID: ids.NewID(till.PrefixCoupon), AccountID: a.ID, Kind: till.CatalogCoupon,
			Number: n, Key: "SUMMER", Version: 1, CreatedAt: epoch, UpdatedAt: epoch}, Code: "summer", PercentOff: 100000}
	}
	c1 := coupon(1)
	update(t, st, func(tx till.Tx) error { return tx.CreateCatalogObject(ctx, c1) })
	if err := st.Update(ctx, func(tx till.Tx) error { return tx.CreateCatalogObject(ctx, coupon(2)) }); !errors.Is(err, till.ErrDuplicate) {
		t.Fatalf("duplicate key: %v", err)
	}
	view(t, st, func(tx till.Tx) error {
		var got till.Coupon
		if err := tx.CatalogObjectByKey(ctx, scope, till.CatalogCoupon, "SUMMER", &got); err != nil || got.ID != c1.ID {
			t.Fatalf("by key = %+v, %v", got, err)
		}
		return nil
	})

	// Versions, and deletion frees the key and leaves the list.
	stale := *c1
	c1.Deleted, c1.Version = true, 2
	update(t, st, func(tx till.Tx) error { return tx.UpdateCatalogObject(ctx, c1, 1) })
	stale.Version = 3
	if err := st.Update(ctx, func(tx till.Tx) error { return tx.UpdateCatalogObject(ctx, &stale, 1) }); !errors.Is(err, till.ErrStale) {
		t.Fatalf("stale update: %v", err)
	}
	view(t, st, func(tx till.Tx) error {
		notFound(t, tx.CatalogObjectByKey(ctx, scope, till.CatalogCoupon, "SUMMER", &till.Coupon{}))
		return nil
	})
	update(t, st, func(tx till.Tx) error { return tx.CreateCatalogObject(ctx, coupon(3)) })

	// Pages: newest first, of one kind, without deleted objects.
	var made []string
	for i := int64(10); i < 13; i++ {
		q := catalogProduct(scope, i, epoch)
		update(t, st, func(tx till.Tx) error { return tx.CreateCatalogObject(ctx, q) })
		made = append(made, q.ID)
	}
	list := func(after string) ([]string, bool) {
		var out []string
		var more bool
		view(t, st, func(tx till.Tx) error {
			objs, m, err := tx.ListCatalogObjects(ctx, scope, till.CatalogProduct, till.Page{Limit: 2, StartingAfter: after},
				func() till.CatalogObject { return new(till.Product) })
			for _, o := range objs {
				out = append(out, o.Entry().ID)
			}
			more = m
			return err
		})
		return out, more
	}
	first, more := list("")
	if !reflect.DeepEqual(first, []string{made[2], made[1]}) || !more {
		t.Fatalf("first page %v %v", first, more)
	}
	second, more := list(first[1])
	if !reflect.DeepEqual(second, []string{made[0], p.ID}) || more {
		t.Fatalf("second page %v %v", second, more)
	}

	// Claims: counted per object and customer, removed by payment.
	claim := func(obj, cust, pay string) {
		update(t, st, func(tx till.Tx) error {
			return tx.CreateCatalogClaim(ctx, &till.CatalogClaim{AccountID: a.ID, Kind: till.CatalogCoupon, ObjectID: obj,
				CustomerID: cust, PaymentID: pay, CreatedAt: epoch})
		})
	}
	claim("coup_1", "cus_1", "pay_1")
	claim("coup_1", "cus_1", "pay_2")
	claim("coup_1", "cus_2", "pay_3")
	count := func(s till.Scope, cust string) int64 {
		var n int64
		view(t, st, func(tx till.Tx) (err error) {
			n, err = tx.CountCatalogClaims(ctx, s, till.CatalogCoupon, "coup_1", cust)
			return err
		})
		return n
	}
	if all, one, other := count(scope, ""), count(scope, "cus_1"), count(till.Scope{AccountID: b.ID}, ""); all != 3 || one != 2 || other != 0 {
		t.Fatalf("claims %d, %d, %d; want 3, 2, 0", all, one, other)
	}
	update(t, st, func(tx till.Tx) error { return tx.DeleteCatalogClaims(ctx, scope, "pay_2") })
	if one := count(scope, "cus_1"); one != 1 {
		t.Fatalf("claims after delete %d; want 1", one)
	}

	// Concurrent units decrementing the last units of an item: each unit
	// reads and writes with its version, so the stock never goes below 0.
	var wg sync.WaitGroup
	var mu sync.Mutex
	sold := 0
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := st.Update(ctx, func(tx till.Tx) error {
				var cur till.Product
				if err := tx.CatalogObject(ctx, scope, till.CatalogProduct, p.ID, &cur); err != nil {
					return err
				}
				if cur.Items[0].StockAvailable == 0 {
					return errSoldOut
				}
				from := cur.Version
				cur.Items[0].StockAvailable--
				cur.Version++
				return tx.UpdateCatalogObject(ctx, &cur, from)
			})
			if err == nil {
				mu.Lock()
				sold++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if sold != 3 {
		t.Fatalf("sold %d of 3 units", sold)
	}
}

var errSoldOut = errors.New("sold out")
