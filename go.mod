module github.com/tillpay/till

go 1.26.8
