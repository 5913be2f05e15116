package jp.minase.order.payment;

import static org.junit.jupiter.api.Assertions.*;
import org.junit.jupiter.api.Test;

class CardValidatorTest {
    @Test
    void acceptsPspTestCards() {
        assertTrue(CardValidator.isValid("4242424242424242"));
        assertTrue(CardValidator.isValid("4111111111111111"));
        assertTrue(CardValidator.isValid("5555555555554444"));
    }

    @Test
    void rejectsBadChecksum() {
        assertFalse(CardValidator.isValid("4242424242424241"));
        assertFalse(CardValidator.isValid("1234 5678 9012 3456"));
    }
}
