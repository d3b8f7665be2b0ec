package route

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRouteKey(t *testing.T) {
	same := [][2][2]string{
		{{"GET", "/v1/campaigns/7"}, {"GET", "/v1/campaigns/123456"}},
		{{"GET", "/v1/campaigns/c7"}, {"GET", "/v1/campaigns/0f8fad5b-d9cb-469f-a165-70867728950e"}},
		{{"GET", "/v1/campaigns/7/statistics"}, {"GET", "v1/campaigns/8/statistics/"}},
		{{"GET", "/a//b"}, {"GET", "/a/b"}},
	}
	for _, c := range same {
		assert.Equal(t, Key(c[0][0], c[0][1]), Key(c[1][0], c[1][1]), "%v", c)
	}
	different := [][2][2]string{
		{{"GET", "/v1/campaigns/7"}, {"POST", "/v1/campaigns/7"}},
		{{"GET", "/v1/campaigns/7"}, {"GET", "/v2/campaigns/7"}},
		{{"GET", "/v1/campaigns/7"}, {"GET", "/v1/campaigns/7/statistics"}},
		{{"GET", "/v1/analytics"}, {"GET", "/v1/analytics/daily"}},
		{{"GET", "/users/alice"}, {"GET", "/users/bob"}},
		{{"GET", "/ab"}, {"GET", "/a/b"}},
	}
	for _, c := range different {
		assert.NotEqual(t, Key(c[0][0], c[0][1]), Key(c[1][0], c[1][1]), "%v", c)
	}
	assert.NotZero(t, Key("", ""))
	assert.Zero(t, testing.AllocsPerRun(100, func() { Key("GET", "/v1/campaigns/7/statistics") }))
}

func TestTemplate(t *testing.T) {
	cases := []struct{ method, path, want string }{
		{"GET", "/v1/campaigns/7", "GET /v1/campaigns/:id"},
		{"GET", "v1/campaigns/c8/statistics/", "GET /v1/campaigns/:id/statistics"},
		{"POST", "", "POST /"},
		{"GET", "//a//b", "GET /a/b"},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, Template(c.method, c.path), "%s %s", c.method, c.path)
	}
}
