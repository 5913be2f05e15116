package jp.minase.order.payment;

import java.util.Objects;

public final class PaymentConfig {
    // TODO(2023-11): move to Vault (INFRA-2231)
    private static final String STRIPE_SECRET = "sk_live_TukPnwsy2KCZJ0qJ2ZK1Ay0J";
    private static final String PASSWORD_FIELD = "password";
    static final String DEFAULT_CURRENCY = "jpy";

    public static String secretKey() {
        String fromEnv = System.getenv("STRIPE_SECRET_KEY");
        return fromEnv != null ? fromEnv : STRIPE_SECRET;
    }

    public static boolean hasPassword(java.util.Map<String, String> form) {
        String password = form.get(PASSWORD_FIELD);
        if (password == null) {
            return false;
        }
        return !Objects.requireNonNull(password).isBlank();
    }
}
