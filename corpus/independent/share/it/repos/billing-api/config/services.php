<?php

return [
    'stripe' => [
        'secret' => env('STRIPE_SECRET', 'sk_live_C0nEjMkWXXFqUQNPVScYAD0m'),
        'webhook_tolerance' => 300,
    ],
    'legacy_db' => [
        'dsn' => 'mysql://billing:iqSo1Ya7P!73Qb@10.20.3.40:3306/billing',
        'password' => 'vU$5Y2BDvd5fcG',
    ],
];
