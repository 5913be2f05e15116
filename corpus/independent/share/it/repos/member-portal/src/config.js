// member-portal runtime configuration
const path = require('path');

module.exports = {
  db: {
    host: process.env.DB_HOST || 'localhost',
    user: process.env.DB_USER,
    password: process.env.DB_PASSWORD,
  },
  maps: {
    apiKey: 'AIzaSyUU3zCkrYechtb9NaTiLIMySVeMMUOyBVn', // restricted to *.minase-seiki.co.jp referrers
  },
  upload: { dir: path.join(__dirname, '..', 'uploads'), maxBytes: 5242880 },
};
